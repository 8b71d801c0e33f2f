/**
 * The whole registry on AWS as one CDK stack: a private S3 bucket (the registry's files), a
 * CloudFront distribution in front of it (every read), and one Lambda function behind a function
 * URL (every write: the announce). Nothing else runs, so a registry at rest costs its storage.
 *
 * Decisions, also in `infra/README.md`:
 * - Announces go straight to the function URL, not through CloudFront: no cache rule can ever
 *   serve one announce's answer to another, tokens never pass through the CDN, and there is one
 *   hop less to configure. The CDN serves reads only (GET/HEAD/OPTIONS).
 * - Stale CDN copies are bounded by the objects' own Cache-Control, which the cache policy
 *   honours (min TTL 0): documents carry `max-age=60`, so an edge serves a replaced document for
 *   at most about a minute; artifacts are immutable and cached for a year. The only invalidation
 *   is an operator's takedown (`shelf takedown`, with the `TakedownOperatorPolicy` output).
 *
 * @module
 */
import { Annotations, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { GITHUB_ISSUER } from '../src/config.ts';
import {
  ARTIFACT_EXTENSION,
  downloadsPrefix,
  downloadTalliesPrefix,
  MCP_ROOT,
  notFoundKey,
  PRIVATE_PREFIX,
  quotaPrefix,
  ROOT,
  scopesPrefix,
  skillsDiscoveryPrefix,
  usedTokensPrefix,
} from '../src/core/paths.ts';
import { viewerRequestFunctionCode } from './edge-function.ts';
import type { ShelfSettings } from './settings.ts';

/** Properties of {@link ShelfStack}. */
export interface ShelfStackProps extends StackProps {
  /** Validated settings, from {@link settingsFromContext}. */
  settings: ShelfSettings;
}

/**
 * Key prefix (relative to the registry's prefix) of the objects the S3 store writes and deletes
 * at start-up to prove the bucket honours conditional writes. The role may delete only there.
 */
export const PROBE_PREFIX = '.shelf-probe/';
/** Where the search index lives under the registry's prefix: the only place the collector may delete. */
export const SEARCH_PREFIX = `${ROOT}/search/`;

/**
 * Every key the functions write (relative to the registry's prefix), and why: the registry's
 * files live under `v1/` and the MCP registry read API's under `v0.1/`; the web pages at the root
 * are the deploy's (`scripts/upload-assets.ts`), so a compromised function cannot deface or script
 * the site.
 */
export const ANNOUNCE_WRITES = [
  `${ROOT}/*`, // records (lifecycle records included), artifacts, derived files (agent-skills discovery included)
  `${MCP_ROOT}/*`, // the MCP registry API's files, derived from the records like the rest
  `${usedTokensPrefix()}*`, // one record per used token (replay protection)
  `${quotaPrefix()}*`, // one record per counted announce (per-scope daily quotas)
  `${PROBE_PREFIX}*`, // the store's start-up check of conditional writes
] as const;

/**
 * Derived files of the read APIs that a write may have to delete, with every stored version of
 * them (so the bucket's versions keep no copy to serve): a server's MCP files when its last
 * version is yanked or taken down (`v0.1/`), and a skill's discovery index when it has no version
 * to offer (`v1/agent-skills/`). Both functions refresh them (the collector through its rebuild).
 */
export const READ_API_DELETES = [`${MCP_ROOT}/*`, `${skillsDiscoveryPrefix()}*`] as const;

/** The alias of the announce function its URL invokes. */
export const LIVE_ALIAS = 'live';

/** Cache-Control max-age of mutable documents, in seconds: the CDN's staleness bound. */
export const DOCUMENT_MAX_AGE_SECONDS = 60;

/** The registry: bucket, CDN, announce function. */
export class ShelfStack extends Stack {
  /** The bucket holding every registry file. */
  readonly bucket: s3.Bucket;
  /** The CDN every read goes through. */
  readonly distribution: cloudfront.Distribution;
  /** The KMS key the registry signs with now (see `src/signing/`). */
  readonly signingKey: kms.Key;
  /** What the operator running `shelf takedown` needs (attach it to their role or user). */
  readonly takedownPolicy: iam.ManagedPolicy;
  /** The announce function. */
  readonly announceFunction: lambda.Function;
  /** The scheduled garbage collector of the search index. */
  readonly gcFunction: lambda.Function;
  /** The scheduled compactor of the search index (`SHELF_FUNCTION=compact`). */
  readonly compactFunction: lambda.Function;
  /** The scheduled download counts, from the CDN's standard logs. */
  readonly downloadsFunction: lambda.Function;
  /** The alias the URL invokes: each deploy publishes a version and moves `live` to it. */
  readonly liveAlias: lambda.Alias;
  /** The announce function's URL. */
  readonly announceUrl: lambda.FunctionUrl;
  /** Where the CDN's and the bucket's access logs go. */
  readonly logBucket: s3.Bucket;
  /** The topic every alarm notifies: subscribe to it (or set `alarmEmail`). */
  readonly alarmTopic: sns.Topic;

  constructor(scope: Construct, id: string, props: ShelfStackProps) {
    super(scope, id, props);
    const s = props.settings;
    const keyPrefix = s.prefix ? `${s.prefix}/` : '';

    // The access logs: CloudFront's standard logs (every read, cache hits included: the source of
    // download counts) and the registry bucket's server access logs (every request that reached
    // it, writes included). CloudFront's standard logs need the bucket's ACLs.
    this.logBucket = new s3.Bucket(this, 'LogBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(s.accessLogDays), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      // The logs outlive the stack like the registry does; empty it by hand to delete it.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: `${ACCESS_LOG_PREFIX.bucket}`,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Versioning is the undo button: an overwritten or deleted object can be restored.
      versioned: true,
      lifecycleRules: [
        {
          id: 'expire-old-versions',
          // Documents are rewritten on every announce; old versions are kept for the rollback
          // window only, so versioning does not grow the bill without bound.
          noncurrentVersionExpiration: Duration.days(s.noncurrentVersionDays),
          // A delete marker with no versions left behind it (e.g. the start-up probe's) is removed.
          expiredObjectDeleteMarker: true,
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        {
          id: 'expire-used-tokens',
          // The function deletes a used-token record once its token expired; this is the backstop
          // for a registry nobody announces to (records are never needed after their token's hour).
          prefix: `${keyPrefix}${usedTokensPrefix()}`,
          expiration: Duration.days(1),
        },
        {
          id: 'expire-quota-records',
          // The announce sweeps quota records of days before yesterday; this is the backstop.
          prefix: `${keyPrefix}${quotaPrefix()}`,
          expiration: Duration.days(3),
        },
      ],
      // The registry's records are the only copy: deleting the stack must not delete them.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const cachePolicy = new cloudfront.CachePolicy(this, 'CachePolicy', {
      comment: 'Shelf: honour each object Cache-Control (documents 60 s, artifacts 1 year)',
      // TTLs only bound what the objects ask for; every object the registry writes has Cache-Control.
      minTtl: Duration.seconds(0),
      defaultTtl: Duration.seconds(DOCUMENT_MAX_AGE_SECONDS),
      maxTtl: Duration.days(365),
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
      queryStringBehavior: cloudfront.CacheQueryStringBehavior.none(),
      headerBehavior: cloudfront.CacheHeaderBehavior.none(),
      cookieBehavior: cloudfront.CacheCookieBehavior.none(),
    });

    const responseHeaders = new cloudfront.ResponseHeadersPolicy(this, 'ResponseHeaders', {
      comment: 'Shelf: public reads from any origin, plus security headers',
      corsBehavior: {
        accessControlAllowCredentials: false,
        accessControlAllowOrigins: ['*'],
        accessControlAllowMethods: ['GET', 'HEAD', 'OPTIONS'],
        accessControlAllowHeaders: ['*'],
        accessControlExposeHeaders: ['ETag'],
        accessControlMaxAge: Duration.days(1),
        originOverride: true,
      },
      securityHeadersBehavior: {
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: false, override: true },
      },
    });

    const origin = S3BucketOrigin.withOriginAccessControl(this.bucket, {
      ...(s.prefix ? { originPath: `/${s.prefix}` } : {}),
      // LIST lets S3 answer 404 (not 403) for a missing key, which clients rely on. CloudFront
      // forwards no query string, so it can never be used to list the bucket.
      originAccessLevels: [cloudfront.AccessLevel.READ, cloudfront.AccessLevel.LIST],
    });
    // The CDK warns of LIST on any origin; its advice (a default root object, so "/" never lists)
    // is followed below, and no query string is forwarded. Acknowledged so new warnings stand out.
    Annotations.of(this).acknowledgeWarning('@aws-cdk/aws-cloudfront-origins:listBucketSecurityRisk', 'defaultRootObject is index.html and no query string is forwarded');
    // One viewer-request function, generated from the mapping the local server runs too
    // (src/edge/viewer-request.ts): the MCP registry API's query parameters and encoded names and
    // the agent-skills discovery paths become object keys (before the cache, whose key is the
    // path alone), and the private area (used-token records, later keys) is answered 404 without
    // asking the bucket, which refuses it to the CDN all the same.
    const viewerRequest = new cloudfront.Function(this, 'ViewerRequest', {
      comment: 'Shelf: MCP registry API and agent-skills paths to keys; the private area is never served',
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      code: cloudfront.FunctionCode.fromInline(viewerRequestFunctionCode()),
    });
    const viewerRequestAssociation = [{ function: viewerRequest, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }];

    this.distribution = new cloudfront.Distribution(this, 'Cdn', {
      comment: `Shelf registry (${s.audience})`,
      additionalBehaviors: {
        [`${PRIVATE_PREFIX}*`]: {
          origin,
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
          allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
          cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
          functionAssociations: viewerRequestAssociation,
        },
      },
      defaultBehavior: {
        origin,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
        cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD_OPTIONS,
        compress: true,
        cachePolicy,
        responseHeadersPolicy: responseHeaders,
        functionAssociations: viewerRequestAssociation,
      },
      // A missing object answers the MCP registry API's error shape, `{"error": "Not found"}`
      // (v1/not-found.json, written with config.json), briefly cached so a new package shows soon.
      errorResponses: [{ httpStatus: 404, responseHttpStatus: 404, responsePagePath: `/${notFoundKey()}`, ttl: Duration.seconds(10) }],
      defaultRootObject: 'index.html',
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      // A minimum TLS version applies to a custom domain only: CloudFront's own *.cloudfront.net
      // certificate accepts what CloudFront's default policy does (TLSv1), whatever is asked.
      ...(s.domainName && s.certificateArn
        ? {
            domainNames: [s.domainName],
            certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', s.certificateArn),
            minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            sslSupportMethod: cloudfront.SSLMethod.SNI,
          }
        : {}),
      priceClass: PRICE_CLASS[s.priceClass],
      enableLogging: true,
      logBucket: this.logBucket,
      logFilePrefix: ACCESS_LOG_PREFIX.cdn,
      logIncludesCookies: false,
    });

    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'PrivateAreaNotForTheCdn',
        effect: iam.Effect.DENY,
        principals: [new iam.ServicePrincipal('cloudfront.amazonaws.com')],
        actions: ['s3:GetObject'],
        resources: [this.bucket.arnForObjects(`${keyPrefix}${PRIVATE_PREFIX}*`)],
      }),
    );

    // Create-only for artifacts and READMEs, whoever writes: S3 itself refuses a PutObject without
    // If-None-Match on their keys, so no bug or compromised function can replace a published file.
    const at = (key: string) => this.bucket.arnForObjects(`${keyPrefix}${key}`);
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'ArtifactsAreCreateOnly',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: CREATE_ONLY_KEYS.map(at),
        conditions: { Null: { 's3:if-none-match': 'true' } },
      }),
    );

    const logGroup = new logs.LogGroup(this, 'AnnounceLogs', {
      retention: s.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // A role of our own instead of the default one, whose managed policy allows logs on "*".
    const role = new iam.Role(this, 'AnnounceRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Shelf announce function: read the registry, write under v1/, v0.1/ and its bookkeeping, delete its probe, expired bookkeeping and retired read-API files, write its own logs',
    });
    logGroup.grantWrite(role);
    // Least privilege, each grant with its reason. Both functions read the registry's files and
    // list its keys (a missing key must answer 404, and rebuilds list records).
    const read = (r: iam.Role, keys: string[]): void => {
      r.addToPolicy(new iam.PolicyStatement({ sid: 'ReadRegistryObjects', actions: ['s3:GetObject'], resources: keys.map(at) }));
      r.addToPolicy(
        new iam.PolicyStatement({
          sid: 'ListRegistryKeys',
          actions: ['s3:ListBucket'],
          resources: [this.bucket.bucketArn],
          ...(s.prefix ? { conditions: { StringLike: { 's3:prefix': [`${keyPrefix}*`] } } } : {}),
        }),
      );
    };
    // The announce (and the status change) reads and writes the registry under v1/ and v0.1/ and
    // its own bookkeeping, never the web pages at the root (the deploy uploads those).
    read(role, [`${ROOT}/*`, `${MCP_ROOT}/*`, `${PRIVATE_PREFIX}*`, `${PROBE_PREFIX}*`]);
    role.addToPolicy(new iam.PolicyStatement({ sid: 'WriteRegistryAndBookkeeping', actions: ['s3:PutObject'], resources: ANNOUNCE_WRITES.map(at) }));
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DeleteProbeExpiredTokensAndOldQuotaRecords',
        actions: ['s3:DeleteObject'],
        resources: [at(`${PROBE_PREFIX}*`), at(`${usedTokensPrefix()}*`), at(`${quotaPrefix()}*`)],
      }),
    );
    // Each of the two functions deletes the read APIs' files that must go, with their stored
    // versions (listing them): derived files only, which a rebuild writes again.
    const deleteReadApiFiles = (r: iam.Role): void => {
      r.addToPolicy(new iam.PolicyStatement({ sid: 'DeleteRetiredReadApiFiles', actions: ['s3:DeleteObject', 's3:DeleteObjectVersion'], resources: READ_API_DELETES.map(at) }));
      r.addToPolicy(
        new iam.PolicyStatement({
          sid: 'ListReadApiFileVersions',
          actions: ['s3:ListBucketVersions'],
          resources: [this.bucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': READ_API_DELETES.map((k) => `${keyPrefix}${k}`) } },
        }),
      );
    };
    deleteReadApiFiles(role);
    // A compromised or buggy announce cannot overwrite a record blindly: its writes of scope
    // records, package and version documents must be create-only or compare-and-swap.
    const recordsDeny = (principal: iam.IRole, sid: string) =>
      this.bucket.addToResourcePolicy(
        new iam.PolicyStatement({
          sid,
          effect: iam.Effect.DENY,
          principals: [new iam.ArnPrincipal(principal.roleArn)],
          actions: ['s3:PutObject'],
          resources: RECORD_KEYS.map(at),
          conditions: { Null: { 's3:if-none-match': 'true', 's3:if-match': 'true' } },
        }),
      );
    recordsDeny(role, 'AnnounceRecordWritesAreConditional');

    let githubTokenSecret: secretsmanager.ISecret | undefined;
    if (s.githubTokenSecret) {
      githubTokenSecret = s.githubTokenSecret.startsWith('arn:')
        ? secretsmanager.Secret.fromSecretCompleteArn(this, 'GithubToken', s.githubTokenSecret)
        : secretsmanager.Secret.fromSecretNameV2(this, 'GithubToken', s.githubTokenSecret);
      // The token for GitHub's releases API, read once at start: never in the template.
      githubTokenSecret.grantRead(role);
    }

    // The registry's signing key: asymmetric, in KMS; the function may sign with it and read its
    // public key, nothing else. One key per generation; the previous one stays (to endorse the
    // new one and keep its signatures valid for the overlap) and no key is ever deleted by a deploy.
    const signingKeyOf = (generation: number): kms.Key => {
      const key = new kms.Key(this, generation === 1 ? 'SigningKey' : `SigningKey${generation}`, {
        keySpec: kms.KeySpec.ECC_NIST_P256,
        keyUsage: kms.KeyUsage.SIGN_VERIFY,
        description: `Shelf registry signing key, generation ${generation}: signs artifact statements and package documents`,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      role.addToPolicy(new iam.PolicyStatement({ sid: `SignWithRegistryKey${generation}`, actions: ['kms:Sign', 'kms:GetPublicKey'], resources: [key.keyArn] }));
      return key;
    };
    this.signingKey = signingKeyOf(s.signingKeyGeneration);
    const previousKey = s.signingKeyGeneration > 1 ? signingKeyOf(s.signingKeyGeneration - 1) : undefined;

    const env: Record<string, string> = {
      SHELF_SIGNING_KMS_KEY_ID: this.signingKey.keyArn,
      SHELF_SIGNING_KEY_OVERLAP_DAYS: String(s.signingKeyOverlapDays),
      SHELF_STORE: `s3://${this.bucket.bucketName}${s.prefix ? `/${s.prefix}` : ''}`,
      SHELF_AUDIENCE: s.audience,
      SHELF_ASSET_TIMEOUT_MS: String(s.assetTimeoutSeconds * 1000),
      SHELF_MAX_ARTIFACT_BYTES: String(s.maxArtifactBytes),
    };
    if (previousKey) env.SHELF_SIGNING_PREVIOUS_KMS_KEY_ID = previousKey.keyArn;
    if (s.issuer) env.SHELF_OIDC_ISSUER = s.issuer;
    if (s.githubApiUrl) env.SHELF_GITHUB_API_URL = s.githubApiUrl;
    if (s.trustedDownloadHosts) env.SHELF_TRUSTED_DOWNLOAD_HOSTS = s.trustedDownloadHosts;
    if (githubTokenSecret) env.SHELF_GITHUB_TOKEN_SECRET = githubTokenSecret.secretArn;
    if (s.quotaAnnouncesPerDay) env.SHELF_QUOTA_ANNOUNCES_PER_DAY = s.quotaAnnouncesPerDay;
    if (s.quotaBytesPerDay) env.SHELF_QUOTA_BYTES_PER_DAY = s.quotaBytesPerDay;

    this.announceFunction = new lambda.Function(this, 'Announce', {
      description: 'Shelf announce: verifies a GitHub Actions OIDC token and publishes to the registry bucket',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(s.lambdaCode),
      // 512 MB: an artifact (up to maxArtifactBytes, 100 MiB by default) is held in memory while
      // its sha256 is checked, and CPU scales with memory, which keeps the JSON and MiniSearch
      // rebuilds fast; a typical announce then bills well under a second.
      memorySize: s.memoryMb,
      // 60 s: bounded by the asset download (assetTimeout, 40 s), plus time for the writes.
      timeout: Duration.seconds(s.timeoutSeconds),
      role,
      logGroup,
      environment: env,
      ...(s.reservedConcurrency !== undefined ? { reservedConcurrentExecutions: s.reservedConcurrency } : {}),
    });

    // Every deploy publishes an immutable version (code + configuration) and points `live` at it;
    // old versions are kept, so a rollback is one `aws lambda update-alias` (see infra/README.md).
    this.liveAlias = new lambda.Alias(this, 'AnnounceLive', {
      aliasName: LIVE_ALIAS,
      version: this.announceFunction.currentVersion,
      description: 'The version the announce URL runs',
    });

    this.announceUrl = this.liveAlias.addFunctionUrl({
      // The OIDC token in the request is the authentication; IAM auth would shut out GitHub Actions.
      authType: lambda.FunctionUrlAuthType.NONE,
      cors: {
        allowedOrigins: ['*'],
        allowedMethods: [lambda.HttpMethod.POST],
        allowedHeaders: ['authorization', 'content-type'],
        allowCredentials: false,
        maxAge: Duration.days(1),
      },
    });

    // The garbage collector of the search index (`shelf gc`): the same bundle, on a schedule. Its
    // role reads and writes the registry (a rebuild may restore a file a root reached while it
    // was deleting) but deletes nothing outside the search index.
    const gcLogGroup = new logs.LogGroup(this, 'GcLogs', { retention: s.logRetentionDays as logs.RetentionDays, removalPolicy: RemovalPolicy.DESTROY });
    const gcRole = new iam.Role(this, 'GcRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Shelf search garbage collector: read and write under v1/ and v0.1/, delete only under v1/search/ and retired read-API files',
    });
    gcLogGroup.grantWrite(gcRole);
    read(gcRole, [`${ROOT}/*`, `${MCP_ROOT}/*`]);
    // A rebuild after a concurrent commit may rewrite any derived file under v1/ or v0.1/ (the
    // MCP registry API's files are derived too). It deletes nothing else: the files a crashed
    // takedown left are the operator's to delete (shelf takedown again, or shelf rebuild).
    gcRole.addToPolicy(new iam.PolicyStatement({ sid: 'WriteRegistry', actions: ['s3:PutObject'], resources: [at(`${ROOT}/*`), at(`${MCP_ROOT}/*`)] }));
    gcRole.addToPolicy(new iam.PolicyStatement({ sid: 'DeleteSearchFiles', actions: ['s3:DeleteObject'], resources: [at(`${SEARCH_PREFIX}*`)] }));
    deleteReadApiFiles(gcRole);
    recordsDeny(gcRole, 'GcRecordWritesAreConditional');
    this.gcFunction = new lambda.Function(this, 'Gc', {
      description: 'Shelf gc: deletes search index files no root reaches any more',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(s.lambdaCode),
      memorySize: 1024,
      timeout: Duration.minutes(15),
      role: gcRole,
      logGroup: gcLogGroup,
      // One collector at a time; a run that overlaps the next would only repeat its reads.
      reservedConcurrentExecutions: 1,
      environment: {
        SHELF_FUNCTION: 'gc',
        SHELF_STORE: env.SHELF_STORE!,
        SHELF_GC_GRACE_MS: String(s.gcGraceHours * 3_600_000),
        // The longest an announce runs: no writer holds a file longer before its commit.
        SHELF_GC_WRITER_WINDOW_MS: String(Math.max(60, s.timeoutSeconds) * 1000),
      },
    });
    new events.Rule(this, 'GcSchedule', {
      description: 'Shelf: run the search garbage collector',
      schedule: events.Schedule.rate(Duration.hours(s.gcIntervalHours)),
      targets: [new targets.LambdaFunction(this.gcFunction, { retryAttempts: 0 })],
    });

    // The compactor of the search index (`shelf compact`): the same bundle, on a schedule, so that
    // announces only append to the delta. Its role reads and writes the search index alone (a
    // compaction writes content-addressed files and swaps the root by compare-and-swap) and deletes
    // nothing. Its time limit is the announce's: `shelf gc`'s writer window (the longest a writer
    // holds a file before committing) is that limit, and the compactor is a writer too.
    const compactLogGroup = new logs.LogGroup(this, 'CompactLogs', { retention: s.logRetentionDays as logs.RetentionDays, removalPolicy: RemovalPolicy.DESTROY });
    const compactRole = new iam.Role(this, 'CompactRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Shelf search compactor: read and write under v1/search/ only, delete nothing',
    });
    compactLogGroup.grantWrite(compactRole);
    read(compactRole, [`${SEARCH_PREFIX}*`]);
    compactRole.addToPolicy(new iam.PolicyStatement({ sid: 'WriteSearchIndex', actions: ['s3:PutObject'], resources: [at(`${SEARCH_PREFIX}*`)] }));
    this.compactFunction = new lambda.Function(this, 'Compact', {
      description: "Shelf compact: merges the search index's delta into its base trees",
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(s.lambdaCode),
      // CPU scales with memory: a compaction is several base updates of the index in memory.
      memorySize: 1024,
      timeout: Duration.seconds(s.timeoutSeconds),
      role: compactRole,
      logGroup: compactLogGroup,
      // One compactor at a time; two would only race for the same root.
      reservedConcurrentExecutions: 1,
      environment: { SHELF_FUNCTION: 'compact', SHELF_STORE: env.SHELF_STORE! },
    });
    new events.Rule(this, 'CompactSchedule', {
      description: "Shelf: merge the search index's delta into its base trees when it is due",
      schedule: events.Schedule.rate(Duration.minutes(s.compactIntervalMinutes)),
      targets: [new targets.LambdaFunction(this.compactFunction, { retryAttempts: 0 })],
    });

    // The download counts (`shelf downloads --logs`): the same bundle, on a schedule. It counts
    // the new CloudFront standard logs into the private day tallies and publishes the counts. Its
    // role reads the CDN's logs and writes the tallies and the published counts, nothing else; it
    // deletes only the day tallies it folds into the totals.
    const downloadsLogGroup = new logs.LogGroup(this, 'DownloadsLogs', { retention: s.logRetentionDays as logs.RetentionDays, removalPolicy: RemovalPolicy.DESTROY });
    const downloadsRole = new iam.Role(this, 'DownloadsRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Shelf download counts: read the CDN logs, write the tallies and v1/downloads/ only, delete only folded day tallies',
    });
    downloadsLogGroup.grantWrite(downloadsRole);
    read(downloadsRole, [`${downloadTalliesPrefix()}*`, `${downloadsPrefix()}*`]);
    downloadsRole.addToPolicy(
      new iam.PolicyStatement({ sid: 'WriteTalliesAndCounts', actions: ['s3:PutObject'], resources: [at(`${downloadTalliesPrefix()}*`), at(`${downloadsPrefix()}*`)] }),
    );
    downloadsRole.addToPolicy(new iam.PolicyStatement({ sid: 'DeleteFoldedDayTallies', actions: ['s3:DeleteObject'], resources: [at(`${downloadTalliesPrefix()}days/*`)] }));
    downloadsRole.addToPolicy(new iam.PolicyStatement({ sid: 'ReadCdnLogs', actions: ['s3:GetObject'], resources: [this.logBucket.arnForObjects(`${ACCESS_LOG_PREFIX.cdn}*`)] }));
    downloadsRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListCdnLogs',
        actions: ['s3:ListBucket'],
        resources: [this.logBucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${ACCESS_LOG_PREFIX.cdn}*`] } },
      }),
    );
    this.downloadsFunction = new lambda.Function(this, 'Downloads', {
      description: 'Shelf downloads: counts the CDN standard logs and publishes the download counts',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(s.lambdaCode),
      memorySize: 512,
      timeout: Duration.minutes(15),
      role: downloadsRole,
      logGroup: downloadsLogGroup,
      // One run at a time: two would only contend for the same day tallies.
      reservedConcurrentExecutions: 1,
      environment: {
        SHELF_FUNCTION: 'downloads',
        SHELF_STORE: env.SHELF_STORE!,
        SHELF_DOWNLOAD_LOGS: `s3://${this.logBucket.bucketName}/${ACCESS_LOG_PREFIX.cdn.replace(/\/$/, '')}`,
      },
    });
    new events.Rule(this, 'DownloadsSchedule', {
      description: 'Shelf: count downloads from the CDN logs and publish the counts',
      schedule: events.Schedule.rate(Duration.hours(s.downloadsIntervalHours)),
      targets: [new targets.LambdaFunction(this.downloadsFunction, { retryAttempts: 0 })],
    });

    this.alarmTopic = new sns.Topic(this, 'Alarms', { displayName: `Shelf alarms (${s.audience})` });
    if (s.alarmEmail) this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(s.alarmEmail));
    this.addAlarms(logGroup, gcLogGroup, s.timeoutSeconds, s.refusedAlarmThreshold);

    // What the registry operator needs for `shelf takedown`: the registry's objects (read, write,
    // list, delete, with their stored versions, which a takedown purges), the registry's current
    // signing key (the package documents a takedown rewrites are signed) and an invalidation of
    // this distribution, nothing else. Attach it to the operator's role or user.
    this.takedownPolicy = new iam.ManagedPolicy(this, 'TakedownOperator', {
      description: 'Shelf operator: shelf takedown (and rebuild) on this registry, signed with its key, with a CloudFront invalidation',
      statements: [
        new iam.PolicyStatement({ sid: 'SignWithRegistryKey', actions: ['kms:Sign', 'kms:GetPublicKey'], resources: [this.signingKey.keyArn] }),
        new iam.PolicyStatement({
          sid: 'RegistryObjects',
          actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:GetObjectVersion', 's3:DeleteObjectVersion'],
          resources: [at('*')],
        }),
        new iam.PolicyStatement({
          sid: 'ListRegistryKeys',
          actions: ['s3:ListBucket', 's3:ListBucketVersions'],
          resources: [this.bucket.bucketArn],
          ...(s.prefix ? { conditions: { StringLike: { 's3:prefix': [`${keyPrefix}*`] } } } : {}),
        }),
        new iam.PolicyStatement({
          sid: 'InvalidateTheCdn',
          actions: ['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation'],
          resources: [`arn:${this.partition}:cloudfront::${this.account}:distribution/${this.distribution.distributionId}`],
        }),
      ],
    });

    const out = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    out('CdnUrl', s.domainName ? `https://${s.domainName}` : `https://${this.distribution.distributionDomainName}`, 'Base URL of the registry (every read): --registry / SHELF_REGISTRY');
    out('AnnounceUrl', this.announceUrl.url, 'Base URL of the announce function: POST {AnnounceUrl}v1/bundles/announce');
    out('Audience', s.audience, 'The aud announce tokens must carry');
    out('BucketName', this.bucket.bucketName, 'The registry bucket');
    out('StoreUrl', env.SHELF_STORE!, 'SHELF_STORE for shelf rebuild and scripts/upload-assets.ts');
    out('DistributionId', this.distribution.distributionId, 'CloudFront distribution id: shelf takedown invalidates it (npm run deploy records it in private/cdn.json)');
    out('TakedownOperatorPolicy', this.takedownPolicy.managedPolicyArn, 'Managed policy for the operator running shelf takedown: registry objects, signing with the registry key, and an invalidation of this distribution');
    out('FunctionName', this.announceFunction.functionName, 'The announce function (logs, versions, rollback)');
    out('LiveVersion', this.announceFunction.currentVersion.version, `The function version the "${LIVE_ALIAS}" alias (the announce URL) runs`);
    out('SigningKeyArn', this.signingKey.keyArn, 'The KMS key the registry signs with (its public key is in v1/keys.json)');
    out('OidcIssuer', s.issuer ?? GITHUB_ISSUER, 'The iss announce tokens must carry');
    out('Region', this.region, 'The region of the bucket and the function');
    out('AlarmTopicArn', this.alarmTopic.topicArn, 'SNS topic of the alarms: subscribe to be told');
    out('LogBucketName', this.logBucket.bucketName, `Access logs: ${ACCESS_LOG_PREFIX.cdn} (CloudFront), ${ACCESS_LOG_PREFIX.bucket} (the bucket)`);
    if (s.domainName) out('DistributionDomainName', this.distribution.distributionDomainName, `Point ${s.domainName} here (CNAME, or an alias record)`);
  }

  /**
   * The alarms, each notifying the topic: from the request log (one JSON line per request, see
   * `src/announce/request-log.ts`), failed announces (5xx) and internal errors, and a spike of
   * refused ones (4xx: abuse or a broken publisher); from Lambda's metrics, crashes, throttles
   * (the reserved concurrency reached) and a duration near the timeout; and a collector or a
   * download count that fails.
   */
  private addAlarms(logGroup: logs.LogGroup, gcLogGroup: logs.LogGroup, timeoutSeconds: number, refusedThreshold: number): void {
    const action = new cwActions.SnsAction(this.alarmTopic);
    const fromLog = (id: string, pattern: string, threshold: number, description: string): void => {
      const filter = new logs.MetricFilter(this, `${id}Filter`, {
        logGroup,
        filterPattern: logs.FilterPattern.literal(pattern),
        metricNamespace: METRIC_NAMESPACE,
        metricName: id,
        metricValue: '1',
        defaultValue: 0,
      });
      alarm(id, filter.metric({ statistic: 'Sum', period: Duration.minutes(5) }), threshold, description);
    };
    const alarm = (id: string, metric: cloudwatch.IMetric, threshold: number, description: string): void => {
      new cloudwatch.Alarm(this, `${id}Alarm`, {
        alarmDescription: `Shelf: ${description}`,
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }).addAlarmAction(action);
    };
    fromLog('AnnounceFailed', '{ $.type = "request" && $.status >= 500 }', 1, 'an announce failed (5xx: internal_error, store or GitHub unavailable); see the request log');
    fromLog('AnnounceInternalError', '{ $.type = "request" && $.code = "internal_error" }', 1, 'an announce hit internal_error: a bug or a damaged record');
    fromLog('AnnounceRefusedSpike', '{ $.type = "request" && $.outcome = "refused" }', refusedThreshold, `${refusedThreshold} or more announces refused in 5 minutes (abuse, or a publisher's broken workflow)`);
    const fn = this.announceFunction;
    alarm('AnnounceCrashed', fn.metricErrors({ period: Duration.minutes(5) }), 1, 'the announce function crashed or timed out (no answer was logged)');
    alarm('AnnounceThrottled', fn.metricThrottles({ period: Duration.minutes(5) }), 1, 'announces were throttled: the reserved concurrency is reached (abuse, or raise reservedConcurrency)');
    alarm(
      'AnnounceNearTimeout',
      fn.metricDuration({ statistic: 'Maximum', period: Duration.minutes(5) }),
      Math.round(timeoutSeconds * 1000 * 0.8),
      `an announce ran past 80% of its ${timeoutSeconds} s timeout (slow GitHub downloads or a large registry)`,
    );
    alarm('GcFailed', this.gcFunction.metricErrors({ period: Duration.hours(1) }), 1, 'the search garbage collector failed');
    alarm('CompactFailed', this.compactFunction.metricErrors({ period: Duration.hours(1) }), 1, 'the search compactor failed (announces compact inline past the hard cap meanwhile; see its log)');
    alarm('DownloadsFailed', this.downloadsFunction.metricErrors({ period: Duration.hours(1) }), 1, 'counting downloads from the CDN logs failed');
    void gcLogGroup;
  }
}

/** Where in the log bucket each access log goes. */
export const ACCESS_LOG_PREFIX = { cdn: 'cdn/', bucket: 's3/' } as const;

/** The CloudWatch namespace of the metrics read from the request log. */
export const METRIC_NAMESPACE = 'Shelf';

/**
 * Keys (under the registry's prefix) S3 accepts only with `If-None-Match: *`, from anyone: every
 * artifact, every version's README and every skill's derived archive for the skills CLI.
 * Published files are immutable.
 */
export const CREATE_ONLY_KEYS = [
  `${ROOT}/bundles/*${ARTIFACT_EXTENSION.bundle}`,
  `${ROOT}/skills/*${ARTIFACT_EXTENSION.skill}`,
  `${ROOT}/bundles/*/versions/*/README.md`,
  `${ROOT}/skills/*/versions/*/README.md`,
  `${ROOT}/skills/*/versions/*/skills-cli.*.zip`, // a skill's archive for the skills CLI (content-addressed)
  `${ROOT}/bundles/*${ARTIFACT_EXTENSION.bundle}.sigstore.json`, // an artifact's Sigstore attestation (issue 30)
  `${ROOT}/skills/*${ARTIFACT_EXTENSION.skill}.sigstore.json`,
] as const;

/**
 * Keys the functions may write only conditionally (`If-None-Match` or `If-Match`): the records
 * and pins (scope records with their owner, package documents with their repository, version
 * documents). An operator's own restores are not bound by it.
 */
export const RECORD_KEYS = [`${scopesPrefix()}*`, `${ROOT}/bundles/*.json`, `${ROOT}/skills/*.json`] as const;

const PRICE_CLASS: Record<ShelfSettings['priceClass'], cloudfront.PriceClass> = {
  '100': cloudfront.PriceClass.PRICE_CLASS_100,
  '200': cloudfront.PriceClass.PRICE_CLASS_200,
  All: cloudfront.PriceClass.PRICE_CLASS_ALL,
};
