import { XML_DECLARATION, S3_NAMESPACE, element, escapeXml, ownerXml, type Owner } from './common.js';
import { formatIsoTimestamp } from './dates.js';

export interface BucketEntry {
  name: string;
  creationDateMs: number;
}

export function buildListAllMyBucketsXml(input: { owner: Owner; buckets: readonly BucketEntry[] }): string {
  let buckets = '';
  for (const b of input.buckets) {
    buckets += `<Bucket>${element('Name', b.name)}${element('CreationDate', formatIsoTimestamp(b.creationDateMs))}</Bucket>`;
  }
  return `${XML_DECLARATION}<ListAllMyBucketsResult xmlns="${S3_NAMESPACE}">${ownerXml('Owner', input.owner)}<Buckets>${buckets}</Buckets></ListAllMyBucketsResult>`;
}

/** GetBucketLocation: empty for us-east-1, as S3 answers for buckets there. */
export function buildLocationConstraintXml(region: string): string {
  return region === '' || region === 'us-east-1'
    ? `${XML_DECLARATION}<LocationConstraint xmlns="${S3_NAMESPACE}"/>`
    : `${XML_DECLARATION}<LocationConstraint xmlns="${S3_NAMESPACE}">${escapeXml(region)}</LocationConstraint>`;
}

/** GetBucketVersioning for a bucket that has never had versioning: an empty configuration. */
export function buildVersioningConfigurationXml(): string {
  return `${XML_DECLARATION}<VersioningConfiguration xmlns="${S3_NAMESPACE}"/>`;
}
