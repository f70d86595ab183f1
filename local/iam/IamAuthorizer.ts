import { AwsError, type EdgeRequest } from '../edge/http';
import { CALLER_HEADER } from '../lambda/invocation';
import { evaluate } from './evaluate';
import { type RequiredPermission, requiredPermissions } from './requestActions';
import { LOCAL_ACCOUNT } from '../template';
import type { FunctionIdentity, TemplateIam } from './TemplateIam';

/** A denied request, as the edge answers it and the tests read it. */
export interface Denial {
  readonly caller: string;
  readonly action: string;
  readonly resource: string;
  readonly explicit: boolean;
}

/** The user id of callers from outside the stack (CLI, tests, AWS CLI): an administrator. */
export const ADMIN_USER_ID = 'AIDALOCALADMINISTRATOR';

/**
 * IAM at the edge: a request that carries a function's identity is evaluated against that
 * function's role (from the synthesized template) and the resource's policy, and denied exactly as
 * AWS denies it. Requests without an identity come from outside the stack and act as an admin.
 */
export class IamAuthorizer {
  public readonly denials: Denial[] = [];
  /** Requests of the stack's functions that IAM allowed, by action. */
  public readonly allowed = new Map<string, number>();

  constructor(
    public readonly iam: TemplateIam,
    private readonly statementOwner: (id: string) => string | undefined,
  ) {}

  /**
   * IAM for a call a service role of the stack makes inside local mode (a state machine invoking a
   * function, starting a child execution, reading its item list): the denial message, or undefined.
   */
  authorizeRole(roleArn: string, action: string, resource: string): string | undefined {
    const roleLogicalId = /:role\/(.+)$/.exec(roleArn)?.[1];
    if (!roleLogicalId) return undefined;
    return this.check(roleLogicalId, roleLogicalId, `arn:aws:sts::${LOCAL_ACCOUNT}:assumed-role/${roleLogicalId}/local`, { action, resource }, resource);
  }

  /**
   * One IAM decision: counts an allowed call, records a denied one and returns AWS's message for
   * it (`shownResource` is the resource as the service writes it in the message).
   */
  private check(caller: string, roleLogicalId: string, sessionArn: string, p: RequiredPermission, shownResource: string): string | undefined {
    const decision = evaluate(this.iam.identityPolicy(roleLogicalId), this.iam.resourcePolicy(p.resource), {
      action: p.action,
      resource: p.resource,
      principalArn: sessionArn,
      keys: {
        'aws:PrincipalArn': `arn:aws:iam::${LOCAL_ACCOUNT}:role/${roleLogicalId}`,
        // What AWS sees of the SDK's calls: HTTPS with TLS 1.3 (the edge itself speaks plain HTTP on loopback).
        'aws:SecureTransport': 'true',
        's3:TlsVersion': '1.3',
        ...p.keys,
      },
    });
    if (decision === 'Allow') {
      this.allowed.set(p.action, (this.allowed.get(p.action) ?? 0) + 1);
      return undefined;
    }
    this.denials.push({ caller, action: p.action, resource: p.resource, explicit: decision === 'ExplicitDeny' });
    const why =
      decision === 'ExplicitDeny'
        ? `with an explicit deny in a ${p.resource.startsWith('arn:aws:s3') ? 'resource-based' : 'identity-based'} policy`
        : `because no identity-based policy allows the ${p.action} action`;
    return `User: ${sessionArn} is not authorized to perform: ${p.action} on resource: ${shownResource} ${why}`;
  }

  /**
   * Whether a function may list a bucket (s3:ListBucket), asked when it reads a key that does not
   * exist: S3 then answers 404 NoSuchKey only to a caller that may list the bucket, and 403
   * AccessDenied to any other (S3 API Reference, GetObject / HeadObject, "Permissions"). Nothing is
   * counted or recorded: it is not a request of its own.
   */
  mayList(caller: FunctionIdentity, bucket: string): boolean {
    const resource = `arn:aws:s3:::${bucket}`;
    return (
      evaluate(this.iam.identityPolicy(caller.roleLogicalId), this.iam.resourcePolicy(resource), {
        action: 's3:ListBucket',
        resource,
        principalArn: caller.sessionArn,
        keys: {
          'aws:PrincipalArn': `arn:aws:iam::${LOCAL_ACCOUNT}:role/${caller.roleLogicalId}`,
          'aws:SecureTransport': 'true',
          's3:TlsVersion': '1.3',
          'aws:userid': caller.userId,
        },
      }) === 'Allow'
    );
  }

  /** The function a request comes from, if it comes from one of the template's functions. */
  caller(req: EdgeRequest): FunctionIdentity | undefined {
    const id = req.headers[CALLER_HEADER];
    return typeof id === 'string' ? this.iam.identity(id) : undefined;
  }

  /** Throws the AWS error a denied request gets (AccessDenied for S3, AccessDeniedException otherwise). */
  authorize(req: EdgeRequest, s3: boolean): FunctionIdentity | undefined {
    const caller = this.caller(req);
    if (!caller) return undefined;
    for (const p of requiredPermissions(req, this.statementOwner)) {
      const message = this.check(
        caller.functionId,
        caller.roleLogicalId,
        caller.sessionArn,
        { ...p, keys: { 'aws:userid': caller.userId, ...p.keys } },
        s3 ? `"${p.resource}"` : p.resource,
      );
      if (message) throw s3 ? new AwsError('AccessDenied', message, 403) : new AwsError('AccessDeniedException', message, 400);
    }
    return caller;
  }
}
