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
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { GITHUB_ISSUER } from '../src/config.ts';
import { notFoundKey, PRIVATE_PREFIX, ROOT, usedTokensPrefix } from '../src/core/paths.ts';
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
  /** The alias the URL invokes: each deploy publishes a version and moves `live` to it. */
  readonly liveAlias: lambda.Alias;
  /** The announce function's URL. */
  readonly announceUrl: lambda.FunctionUrl;

  constructor(scope: Construct, id: string, props: ShelfStackProps) {
    super(scope, id, props);
    const s = props.settings;
    const keyPrefix = s.prefix ? `${s.prefix}/` : '';

    this.bucket = new s3.Bucket(this, 'Bucket', {
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
      minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
      priceClass: PRICE_CLASS[s.priceClass],
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

    const logGroup = new logs.LogGroup(this, 'AnnounceLogs', {
      retention: s.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // A role of our own instead of the default one, whose managed policy allows logs on "*".
    const role = new iam.Role(this, 'AnnounceRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Shelf announce function: read and write registry objects, delete expired token records, write its own logs',
    });
    logGroup.grantWrite(role);
    const objects = this.bucket.arnForObjects(`${keyPrefix}*`);
    // Both functions read, write and list the registry's objects; each deletes in one place only.
    const readWriteList = (r: iam.Role): void => {
      r.addToPolicy(new iam.PolicyStatement({ sid: 'ReadWriteRegistryObjects', actions: ['s3:GetObject', 's3:PutObject'], resources: [objects] }));
      r.addToPolicy(
        new iam.PolicyStatement({
          sid: 'ListRegistryKeys',
          actions: ['s3:ListBucket'],
          resources: [this.bucket.bucketArn],
          ...(s.prefix ? { conditions: { StringLike: { 's3:prefix': [`${keyPrefix}*`] } } } : {}),
        }),
      );
    };
    readWriteList(role);
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DeleteStartupProbeAndExpiredTokens',
        actions: ['s3:DeleteObject'],
        resources: [this.bucket.arnForObjects(`${keyPrefix}${PROBE_PREFIX}*`), this.bucket.arnForObjects(`${keyPrefix}${usedTokensPrefix()}*`)],
      }),
    );

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
    if (s.githubToken) env.SHELF_GITHUB_TOKEN = s.githubToken;

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
      description: 'Shelf search garbage collector: read and write registry objects, delete only under v1/search/',
    });
    gcLogGroup.grantWrite(gcRole);
    readWriteList(gcRole);
    gcRole.addToPolicy(new iam.PolicyStatement({ sid: 'DeleteSearchFiles', actions: ['s3:DeleteObject'], resources: [this.bucket.arnForObjects(`${keyPrefix}${SEARCH_PREFIX}*`)] }));
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
          resources: [objects],
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
    out('CdnUrl', `https://${this.distribution.distributionDomainName}`, 'Base URL of the registry (every read): --registry / SHELF_REGISTRY');
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
  }
}

const PRICE_CLASS: Record<ShelfSettings['priceClass'], cloudfront.PriceClass> = {
  '100': cloudfront.PriceClass.PRICE_CLASS_100,
  '200': cloudfront.PriceClass.PRICE_CLASS_200,
  All: cloudfront.PriceClass.PRICE_CLASS_ALL,
};
