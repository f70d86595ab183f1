import { ArnFormat, CustomResource, Duration, RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as redshiftserverless from 'aws-cdk-lib/aws-redshiftserverless';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge, nagAtt } from '../nag';
import { LOADER_DATABASE_ROLE } from '../../lambdas/core/sql';
import { ClickstreamFunction } from './ClickstreamFunction';
import type { WarehouseConfig } from '../config/schema';

/**
 * Data API calls on statements that `role` submitted, from any of its sessions (Lambda names each
 * session after its function, so only the role id part of `aws:userid` is shared). Statement ids
 * are known only at run time: the actions take no narrower resource than "*".
 */
function ownStatements(role: iam.Role, actions: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({ actions, resources: ['*'], conditions: { StringLike: { 'redshift-data:statement-owner-iam-userid': `${role.roleId}:*` } } });
}

/** The namespace admin's user name; its password is generated into Secrets Manager. */
const ADMIN_USER = 'clickstream_admin';

export interface WarehouseProps {
  /** Which warehouse to create or import. */
  readonly config: WarehouseConfig;
  /** Bucket of staged COPY files: the only bucket the COPY role may read. */
  readonly stagedBucket: s3.IBucket;
  /** Prefix of created names, e.g. `clickstream-prod`. */
  readonly namePrefix: string;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The Redshift warehouse the loads write into: a new Redshift Serverless namespace and workgroup
 * in private subnets, or an imported workgroup or provisioned cluster. Also the IAM role that
 * `COPY` assumes, which can read only the staged bucket. Callers use the Data API with IAM
 * temporary credentials; no password exists anywhere in the stack.
 */
export class Warehouse extends Construct {
  /** Role that Redshift assumes for `COPY … IAM_ROLE`; reads only the staged bucket. */
  public readonly copyRole: iam.Role;
  /**
   * The one execution role of every function that talks to the warehouse. One IAM role is one
   * database user (`IAMR:<role-name>`): it creates and therefore owns every schema and table, so
   * no GRANT between our own functions is ever needed, and a statement one function submits is
   * one the next function (CheckStatement) may describe. See docs/deploy.md, "Warehouse identity".
   */
  public readonly userRole: iam.Role;
  /** Environment variables that tell the Lambdas how to reach the warehouse through the Data API. */
  public readonly dataApiEnvironment: Readonly<Record<string, string>>;
  /** Name (serverless, created), ARN (serverless, imported) or cluster identifier, for outputs. */
  public readonly target: string;
  /** Database name. */
  public readonly database: string;
  /** What `target` names: a Serverless workgroup or a provisioned cluster. */
  public readonly kind: 'workgroup' | 'cluster';
  private readonly executeResourceArn: string;
  private readonly credentialsStatement: iam.PolicyStatement;

  constructor(scope: Construct, id: string, props: WarehouseProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const config = props.config;
    this.database = config.database;
    this.kind = config.type === 'existing-cluster' ? 'cluster' : 'workgroup';

    this.copyRole = new iam.Role(this, 'CopyRole', {
      assumedBy: new iam.CompositePrincipal(new iam.ServicePrincipal('redshift.amazonaws.com'), new iam.ServicePrincipal('redshift-serverless.amazonaws.com')),
      description: 'Assumed by Redshift for COPY of staged clickstream files; reads the staged bucket only',
    });
    this.copyRole.addToPolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket', 's3:GetBucketLocation'], resources: [props.stagedBucket.bucketArn] }));
    this.copyRole.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [props.stagedBucket.arnForObjects('*')] }));
    acknowledge(
      this.copyRole,
      [`AwsSolutions-IAM5[Resource::${nagAtt(props.stagedBucket)}/*]`],
      'COPY reads staged files under load-specific keys known only at run time; the role has s3:GetObject on the staged bucket and nothing else.',
    );

    this.userRole = new iam.Role(this, 'UserRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Execution role of the functions that use the warehouse: one database user (IAMR:<this role>) owns every table they create',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole')],
    });
    // Redshift Serverless reads this principal tag at sign-in: a colon-separated list of database
    // roles to grant the user (here one, created by the bootstrap below or by the admin of an
    // imported warehouse). Provisioned clusters ignore it (docs/deploy.md).
    Tags.of(this.userRole).add('RedshiftDbRoles', LOADER_DATABASE_ROLE);
    acknowledge(
      this.userRole,
      ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]'],
      'AWSLambdaBasicExecutionRole grants only CreateLogStream/PutLogEvents: the AWS-maintained minimum every function needs.',
    );

    switch (config.type) {
      case 'serverless': {
        const names = { namespace: `${props.namePrefix}-ns`, workgroup: `${props.namePrefix}-wg` };
        // Redshift Serverless needs subnets in at least three AZs ("Considerations when using
        // Amazon Redshift Serverless"); an environment-agnostic stack would get two, so the
        // configuration names them.
        const vpc = new ec2.Vpc(this, 'Vpc', {
          availabilityZones: config.availabilityZones,
          natGateways: 0,
          subnetConfiguration: [{ name: 'warehouse', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
          flowLogs: { all: { trafficType: ec2.FlowLogTrafficType.REJECT } },
        });
        const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
          vpc,
          description: 'Redshift Serverless workgroup: no inbound rules; the Data API reaches it without the VPC',
          allowAllOutbound: false,
        });
        const adminSecret = new secretsmanager.Secret(this, 'AdminSecret', {
          description: `Admin of the ${names.namespace} namespace: used only by the bootstrap that creates the loaders' database role`,
          generateSecretString: {
            secretStringTemplate: JSON.stringify({ username: ADMIN_USER }),
            generateStringKey: 'password',
            // Redshift: 8–64 characters, upper and lower case and a digit, none of / @ " ' \ or space.
            passwordLength: 32,
            excludeCharacters: '/@"\'\\ `',
            requireEachIncludedType: true,
          },
          removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
        });
        acknowledge(
          adminSecret,
          ['AwsSolutions-SMG4'],
          'The admin password is used once, by the bootstrap custom resource, through the Data API; nothing signs in with it afterwards. Rotate it by hand (docs/deploy.md) if policy requires.',
        );
        const namespace = new redshiftserverless.CfnNamespace(this, 'Namespace', {
          namespaceName: names.namespace,
          dbName: config.database,
          // An admin whose generated password lives only in Secrets Manager (the template holds a
          // dynamic reference): only the bootstrap below signs in with it.
          adminUsername: ADMIN_USER,
          adminUserPassword: adminSecret.secretValueFromJson('password').unsafeUnwrap(),
          iamRoles: [this.copyRole.roleArn],
          defaultIamRoleArn: this.copyRole.roleArn,
          logExports: ['userlog', 'connectionlog', 'useractivitylog'],
        });
        namespace.applyRemovalPolicy(props.removalPolicy ?? RemovalPolicy.RETAIN);
        const workgroup = new redshiftserverless.CfnWorkgroup(this, 'Workgroup', {
          workgroupName: names.workgroup,
          namespaceName: names.namespace,
          baseCapacity: config.baseCapacityRpu,
          publiclyAccessible: false,
          enhancedVpcRouting: false,
          subnetIds: vpc.isolatedSubnets.map((s) => s.subnetId),
          securityGroupIds: [securityGroup.securityGroupId],
        });
        workgroup.node.addDependency(namespace);
        if (vpc.isolatedSubnets.length < 3)
          throw new Error(`Warehouse: the workgroup needs subnets in 3 availability zones, got ${vpc.isolatedSubnets.length}`);
        this.bootstrap(names.workgroup, config.database, adminSecret, workgroup);
        this.target = names.workgroup;
        this.executeResourceArn = workgroup.attrWorkgroupWorkgroupArn;
        this.credentialsStatement = new iam.PolicyStatement({
          actions: ['redshift-serverless:GetCredentials'],
          resources: [workgroup.attrWorkgroupWorkgroupArn],
        });
        this.dataApiEnvironment = { WAREHOUSE_WORKGROUP: names.workgroup, WAREHOUSE_DATABASE: config.database, COPY_ROLE_ARN: this.copyRole.roleArn };
        break;
      }
      case 'existing-workgroup': {
        this.target = config.workgroupArn;
        this.executeResourceArn = config.workgroupArn;
        this.credentialsStatement = new iam.PolicyStatement({ actions: ['redshift-serverless:GetCredentials'], resources: [config.workgroupArn] });
        this.dataApiEnvironment = { WAREHOUSE_WORKGROUP: config.workgroupArn, WAREHOUSE_DATABASE: config.database, COPY_ROLE_ARN: this.copyRole.roleArn };
        break;
      }
      case 'existing-cluster': {
        this.target = config.clusterIdentifier;
        this.executeResourceArn = stack.formatArn({
          service: 'redshift',
          resource: 'cluster',
          resourceName: config.clusterIdentifier,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        });
        this.credentialsStatement = new iam.PolicyStatement({
          actions: ['redshift:GetClusterCredentialsWithIAM'],
          resources: [
            stack.formatArn({
              service: 'redshift',
              resource: 'dbname',
              resourceName: `${config.clusterIdentifier}/${config.database}`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          ],
        });
        this.dataApiEnvironment = { WAREHOUSE_CLUSTER: config.clusterIdentifier, WAREHOUSE_DATABASE: config.database, COPY_ROLE_ARN: this.copyRole.roleArn };
        break;
      }
    }
    this.grantDataApiToUserRole();
  }

  /**
   * Lets the warehouse user role run statements through the Data API with IAM temporary
   * credentials, and read the status and results of statements that this role submitted — from
   * any of its sessions: Lambda names each session after its function, so SubmitLoad's and
   * CheckStatement's `aws:userid` differ in the part after the colon, never in the role id.
   */
  private grantDataApiToUserRole(): void {
    const role = this.userRole;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['redshift-data:ExecuteStatement', 'redshift-data:BatchExecuteStatement'], resources: [this.executeResourceArn] }),
    );
    role.addToPrincipalPolicy(this.credentialsStatement);
    role.addToPrincipalPolicy(ownStatements(role, ['redshift-data:DescribeStatement', 'redshift-data:GetStatementResult', 'redshift-data:CancelStatement']));
    // Redshift Serverless reads the RedshiftDbRoles tag of the signing-in role through the tagging
    // API, as the caller ("Accessing Amazon Redshift Serverless database objects with database-role
    // permissions" lists tag:GetResources and tag:GetTagKeys); both take no resource but "*".
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['tag:GetResources', 'tag:GetTagKeys'], resources: ['*'] }));
    acknowledge(
      role,
      ['AwsSolutions-IAM5[Resource::*]'],
      'Data API statement ids are only known at run time: DescribeStatement/GetStatementResult/CancelStatement take no narrower resource; the statement-owner condition limits them to statements of this role. tag:GetResources/GetTagKeys (read by Redshift Serverless for the RedshiftDbRoles tag) and X-Ray PutTraceSegments accept no narrower resource either.',
    );
  }

  /**
   * A custom resource that signs in once as the namespace's admin (its generated password is kept
   * in Secrets Manager) and creates the database role the user role's tag names, with
   * CREATE on the database: the loaders' user can then create its schemas and owns them.
   */
  private bootstrap(workgroupName: string, database: string, adminSecret: secretsmanager.ISecret, workgroup: redshiftserverless.CfnWorkgroup): void {
    const fn = new ClickstreamFunction(this, 'BootstrapFunction', {
      functionDir: 'bootstrap-warehouse',
      description: "Custom resource: creates the loaders' database role in a new Redshift Serverless namespace",
      timeout: Duration.minutes(10),
      memorySize: 256,
    });
    const role = fn.role as iam.Role;
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['redshift-data:ExecuteStatement'], resources: [workgroup.attrWorkgroupWorkgroupArn] }));
    adminSecret.grantRead(fn);
    fn.addToRolePolicy(ownStatements(role, ['redshift-data:DescribeStatement', 'redshift-data:GetStatementResult']));
    acknowledge(
      fn,
      ['AwsSolutions-IAM5[Resource::*]'],
      "Data API statement ids are only known at run time; the statement-owner condition limits DescribeStatement/GetStatementResult to this role's statements. X-Ray accepts no narrower resource.",
    );
    const resource = new CustomResource(this, 'Bootstrap', {
      serviceToken: fn.functionArn,
      resourceType: 'Custom::WarehouseBootstrap',
      properties: { SecretArn: adminSecret.secretArn, Workgroup: workgroupName, Database: database, Role: LOADER_DATABASE_ROLE },
    });
    resource.node.addDependency(workgroup);
  }
}
