import { Readable } from 'node:stream';
import { S3Client } from '@aws-sdk/client-s3';

/**
 * The real AWS SDK v3 client, with its HTTP handler replaced by one that hands the request body
 * to a function and answers with that function's XML: what the SDK sends must parse with our
 * parsers, and what we build must deserialize in the SDK.
 */
export function clientAnswering(answer: (body: string) => { status: number; xml: string }): S3Client {
  const requestHandler = {
    handle: async (request: { body?: unknown }) => {
      const body = typeof request.body === 'string' ? request.body : '';
      const { status, xml } = answer(body);
      return {
        response: {
          statusCode: status,
          reason: '',
          headers: { 'content-type': 'application/xml', 'x-amz-request-id': 'REQ1' },
          body: Readable.from([Buffer.from(xml, 'utf8')]),
        },
      };
    },
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
  };
  return new S3Client({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-real-secret' },
    maxAttempts: 1,
    requestHandler,
  });
}
