import { ArnFormat, RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as redshiftserverless from 'aws-cdk-lib/aws-redshiftserverless';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge, nagAtt } from '../nag';
import type { WarehouseConfig } from '../config/schema';

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
      assumedBy: new iam.CompositePrincipal(
        new iam.ServicePrincipal('redshift.amazonaws.com'),
        new iam.ServicePrincipal('redshift-serverless.amazonaws.com'),
      ),
      description: 'Assumed by Redshift for COPY of staged clickstream files; reads the staged bucket only',
    });
    this.copyRole.addToPolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket', 's3:GetBucketLocation'], resources: [props.stagedBucket.bucketArn] }));
    this.copyRole.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [props.stagedBucket.arnForObjects('*')] }));
    acknowledge(this.copyRole, [`AwsSolutions-IAM5[Resource::${nagAtt(props.stagedBucket)}/*]`],
      'COPY reads staged files under load-specific keys known only at run time; the role has s3:GetObject on the staged bucket and nothing else.');

    switch (config.type) {
      case 'serverless': {
        const names = { namespace: `${props.namePrefix}-ns`, workgroup: `${props.namePrefix}-wg` };
        const vpc = new ec2.Vpc(this, 'Vpc', {
          maxAzs: 3,
          natGateways: 0,
          subnetConfiguration: [{ name: 'warehouse', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
          flowLogs: { all: { trafficType: ec2.FlowLogTrafficType.REJECT } },
        });
        const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
          vpc,
          description: 'Redshift Serverless workgroup: no inbound rules; the Data API reaches it without the VPC',
          allowAllOutbound: false,
        });
        const namespace = new redshiftserverless.CfnNamespace(this, 'Namespace', {
          namespaceName: names.namespace,
          dbName: config.database,
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
        this.target = names.workgroup;
        this.executeResourceArn = workgroup.attrWorkgroupWorkgroupArn;
        this.credentialsStatement = new iam.PolicyStatement({ actions: ['redshift-serverless:GetCredentials'], resources: [workgroup.attrWorkgroupWorkgroupArn] });
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
        this.executeResourceArn = stack.formatArn({ service: 'redshift', resource: 'cluster', resourceName: config.clusterIdentifier, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
        this.credentialsStatement = new iam.PolicyStatement({
          actions: ['redshift:GetClusterCredentialsWithIAM'],
          resources: [stack.formatArn({ service: 'redshift', resource: 'dbname', resourceName: `${config.clusterIdentifier}/${config.database}`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
        });
        this.dataApiEnvironment = { WAREHOUSE_CLUSTER: config.clusterIdentifier, WAREHOUSE_DATABASE: config.database, COPY_ROLE_ARN: this.copyRole.roleArn };
        break;
      }
    }
  }

  /**
   * Lets `grantee` run statements through the Data API with IAM temporary credentials, and read
   * only its own statements' status and results.
   */
  public grantDataApi(grantee: iam.IGrantable & Construct): void {
    iam.Grant.addToPrincipal({ grantee, actions: ['redshift-data:ExecuteStatement', 'redshift-data:BatchExecuteStatement'], resourceArns: [this.executeResourceArn] });
    grantee.grantPrincipal.addToPrincipalPolicy(this.credentialsStatement);
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['redshift-data:DescribeStatement', 'redshift-data:GetStatementResult', 'redshift-data:CancelStatement'],
        resources: ['*'],
        conditions: { StringEquals: { 'redshift-data:statement-owner-iam-userid': '${aws:userid}' } },
      }),
    );
    // The database user that IAM maps this role to gets the dba role of the dedicated database,
    // so that loads can create schemas, tables and columns (Redshift reads this principal tag).
    if (grantee.grantPrincipal instanceof iam.Role) Tags.of(grantee.grantPrincipal).add('RedshiftDbRoles', 'sys:dba');
    acknowledge(grantee, ['AwsSolutions-IAM5[Resource::*]'],
      'Data API statement ids are only known at run time: DescribeStatement/GetStatementResult/CancelStatement take no narrower resource, and the statement-owner condition limits them to the caller\'s own statements.');
  }

}
