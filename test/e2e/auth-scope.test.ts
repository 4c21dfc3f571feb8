import { GetBucketLocationCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type TestBucket, type TestStack } from '../support/orchestrator.js';
import { failure, parseErrorXml, rawRequest } from '../support/s3-e2e.js';
import { NodeSha256 } from '../unit/auth/signing-support.js';

/** Issue 8: a request signed for eu-west-1 or for service iam was accepted; only s3 and the configured regions are. */
describe('credential scope: region and service', () => {
  let stack: TestStack;
  let alpha: TestBucket;
  beforeAll(async () => {
    stack = await startStack({ serverYaml: '  additional_regions: [eu-central-1]' });
    alpha = stack.buckets[0] as TestBucket;
    await stack.client('alpha').send(new PutObjectCommand({ Bucket: 'alpha', Key: 'k', Body: 'scoped' }));
  });
  afterAll(async () => stack?.stop());

  it('a request signed for a region not configured answers 400 AuthorizationHeaderMalformed naming server.region', async () => {
    const euWest = stack.client('alpha', { region: 'eu-west-1' });
    expect(await failure(euWest.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'k' })))).toMatchObject({ name: 'AuthorizationHeaderMalformed', status: 400 });
    expect(await failure(euWest.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'planted', Body: 'x' })))).toMatchObject({ status: 400 });
    const objects = await stack.db.pool.query(`SELECT key FROM objects WHERE key = 'planted'`);
    expect(objects.rows).toEqual([]);
  });

  it('server.region (default us-east-1) and server.additional_regions are accepted', async () => {
    for (const region of ['us-east-1', 'eu-central-1']) {
      const got = await stack.client('alpha', { region }).send(new GetObjectCommand({ Bucket: 'alpha', Key: 'k' }));
      expect(await got.Body?.transformToString()).toBe('scoped');
    }
    const location = await stack.client('alpha').send(new GetBucketLocationCommand({ Bucket: 'alpha' }));
    expect(location.LocationConstraint ?? 'us-east-1').toBe('us-east-1');
  });

  it('a request signed for service iam answers 400 AuthorizationHeaderMalformed', async () => {
    const url = new URL(stack.url);
    const signer = new SignatureV4({
      credentials: { accessKeyId: alpha.accessKeyId, secretAccessKey: alpha.secretAccessKey }, region: 'us-east-1', service: 'iam', sha256: NodeSha256, uriEscapePath: false,
    });
    const signed = await signer.sign({
      method: 'GET', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/alpha/k',
      headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    });
    const res = await rawRequest(`${stack.url}/alpha/k`, { headers: signed.headers as Record<string, string> });
    expect(res.status).toBe(400);
    expect(parseErrorXml(res.text)).toMatchObject({ Code: 'AuthorizationHeaderMalformed' });
    expect(parseErrorXml(res.text).Message).toMatch(/incorrect service (&quot;|")iam/);
  });

  it('presigned URLs: a region not configured answers 400 AuthorizationQueryParametersError with <Region>', async () => {
    const foreign = await getSignedUrl(stack.client('alpha', { region: 'eu-west-1' }), new GetObjectCommand({ Bucket: 'alpha', Key: 'k' }), { expiresIn: 600 });
    const refused = await rawRequest(foreign);
    expect(refused.status).toBe(400);
    expect(parseErrorXml(refused.text)).toMatchObject({ Code: 'AuthorizationQueryParametersError', Region: 'us-east-1' });
    const allowed = await getSignedUrl(stack.client('alpha', { region: 'eu-central-1' }), new GetObjectCommand({ Bucket: 'alpha', Key: 'k' }), { expiresIn: 600 });
    expect((await rawRequest(allowed)).text).toBe('scoped');
  });
});
