"""boto3 scenarios against an S3 endpoint, driven by test/e2e/clients/boto3.test.ts.

Usage: python3 boto3_client.py <scenario>
Environment: S3O_ENDPOINT, S3O_ACCESS_KEY, S3O_SECRET_KEY, S3O_BUCKET, S3O_WORKDIR.
Prints one JSON object with what the client observed; the test asserts on it. Client errors
that a scenario expects are caught and reported; anything else raises (non-zero exit).
"""

import base64
import hashlib
import json
import os
import random
import sys
import urllib.error
import urllib.request
import zlib
from concurrent.futures import ThreadPoolExecutor

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

MiB = 1024 * 1024
ENDPOINT = os.environ["S3O_ENDPOINT"]
BUCKET = os.environ["S3O_BUCKET"]
WORKDIR = os.environ["S3O_WORKDIR"]


def client(secret=None, signature_version=None):
    session = boto3.session.Session(
        aws_access_key_id=os.environ["S3O_ACCESS_KEY"],
        aws_secret_access_key=secret or os.environ["S3O_SECRET_KEY"],
        region_name="us-east-1",
    )
    # One attempt: a gateway error must show, not be retried away.
    config = Config(
        s3={"addressing_style": "path"}, retries={"mode": "standard", "total_max_attempts": 1}, max_pool_connections=32,
        signature_version=signature_version,
    )
    return session.client("s3", endpoint_url=ENDPOINT, config=config)


def data(size, seed):
    return random.Random(seed).randbytes(size)


def md5(b):
    return hashlib.md5(b).hexdigest()


def error_of(fn):
    """Runs fn and returns the S3 error it raised as {code, status}, or None."""
    try:
        fn()
    except ClientError as e:
        return {"code": e.response["Error"].get("Code"), "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}
    return None


def objects():
    s3 = client()
    out = {}
    body = b"hello from boto3\n"
    put = s3.put_object(Bucket=BUCKET, Key="obj/plain.txt", Body=body, ContentType="text/plain", Metadata={"colour": "green"})
    got = s3.get_object(Bucket=BUCKET, Key="obj/plain.txt")
    out["plain"] = {
        "putEtag": put["ETag"], "md5": md5(body), "body": got["Body"].read().decode(), "etag": got["ETag"],
        "contentType": got["ContentType"], "metadata": got["Metadata"], "length": got["ContentLength"],
    }

    crc = s3.put_object(Bucket=BUCKET, Key="obj/crc32.bin", Body=data(1000, "crc32"), ChecksumAlgorithm="CRC32")
    out["crc32"] = {
        "putChecksum": crc.get("ChecksumCRC32"),
        "getChecksum": s3.get_object(Bucket=BUCKET, Key="obj/crc32.bin", ChecksumMode="ENABLED").get("ChecksumCRC32"),
        "expected": base64.b64encode(zlib.crc32(data(1000, "crc32")).to_bytes(4, "big")).decode(),
    }
    s3.delete_object(Bucket=BUCKET, Key="obj/crc32.bin")

    checked = data(300 * 1024, "sha256")
    put = s3.put_object(Bucket=BUCKET, Key="obj/checked.bin", Body=checked, ChecksumAlgorithm="SHA256")
    got = s3.get_object(Bucket=BUCKET, Key="obj/checked.bin", ChecksumMode="ENABLED")
    got_body = got["Body"].read()
    out["sha256"] = {
        "putChecksum": put.get("ChecksumSHA256"), "getChecksum": got.get("ChecksumSHA256"),
        "expected": base64.b64encode(hashlib.sha256(checked).digest()).decode(),
        "putEtag": put["ETag"], "md5": md5(checked), "bodyMd5": md5(got_body),
    }

    head = s3.head_object(Bucket=BUCKET, Key="obj/plain.txt")
    out["head"] = {"length": head["ContentLength"], "etag": head["ETag"], "metadata": head["Metadata"], "contentType": head["ContentType"]}

    ranged = s3.get_object(Bucket=BUCKET, Key="obj/plain.txt", Range="bytes=6-9")
    out["range"] = {"status": ranged["ResponseMetadata"]["HTTPStatusCode"], "body": ranged["Body"].read().decode(), "contentRange": ranged["ContentRange"]}

    etag = head["ETag"]
    out["ifNoneMatch"] = error_of(lambda: s3.get_object(Bucket=BUCKET, Key="obj/plain.txt", IfNoneMatch=etag))
    out["ifNoneMatchOther"] = s3.get_object(Bucket=BUCKET, Key="obj/plain.txt", IfNoneMatch='"0123"')["Body"].read().decode()
    out["ifMatchWrong"] = error_of(lambda: s3.get_object(Bucket=BUCKET, Key="obj/plain.txt", IfMatch='"0123"'))
    out["missing"] = error_of(lambda: s3.get_object(Bucket=BUCKET, Key="obj/missing"))

    copied = s3.copy_object(Bucket=BUCKET, Key="obj/copy.txt", CopySource={"Bucket": BUCKET, "Key": "obj/plain.txt"})
    copy_head = s3.head_object(Bucket=BUCKET, Key="obj/copy.txt")
    out["copy"] = {"etag": copied["CopyObjectResult"]["ETag"], "metadata": copy_head["Metadata"], "body": s3.get_object(Bucket=BUCKET, Key="obj/copy.txt")["Body"].read().decode()}

    deleted = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in ["obj/plain.txt", "obj/checked.bin", "obj/copy.txt", "obj/never"]]})
    out["deleteObjects"] = {"deleted": sorted(d["Key"] for d in deleted.get("Deleted", [])), "errors": deleted.get("Errors", [])}
    out["afterDelete"] = [c["Key"] for c in s3.list_objects_v2(Bucket=BUCKET, Prefix="obj/").get("Contents", [])]
    return out


def transfer():
    s3 = client()
    payload = data(12 * MiB, "transfer")
    src = os.path.join(WORKDIR, "upload.bin")
    dst = os.path.join(WORKDIR, "download.bin")
    with open(src, "wb") as f:
        f.write(payload)
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=4)
    s3.upload_file(src, BUCKET, "transfer/big.bin", Config=config)
    head = s3.head_object(Bucket=BUCKET, Key="transfer/big.bin")
    s3.download_file(BUCKET, "transfer/big.bin", dst, Config=config)
    with open(dst, "rb") as f:
        back = f.read()
    parts = [hashlib.md5(payload[o:o + 5 * MiB]).digest() for o in range(0, len(payload), 5 * MiB)]
    # Each part with its own SHA-256 (sent in a header, listed again in CompleteMultipartUpload).
    s3.upload_file(src, BUCKET, "transfer/checked.bin", Config=config, ExtraArgs={"ChecksumAlgorithm": "SHA256"})
    checked = s3.get_object(Bucket=BUCKET, Key="transfer/checked.bin")
    return {
        "checkedEtag": checked["ETag"], "checkedMd5": md5(checked["Body"].read()),
        "size": len(payload), "headLength": head["ContentLength"], "etag": head["ETag"],
        "expectedEtag": '"%s-%d"' % (hashlib.md5(b"".join(parts)).hexdigest(), len(parts)),
        "md5": md5(payload), "downloadedMd5": md5(back), "downloadedSize": len(back),
    }


def paginate():
    s3 = client()
    count = int(os.environ.get("S3O_KEY_COUNT", "1200"))
    # Keys below S3O_PUT_FROM were seeded by the test: boto3 puts the rest, concurrently.
    put_from = int(os.environ.get("S3O_PUT_FROM", "0"))
    keys = ["many/%05d" % i for i in range(count)]

    def put(key):
        s3.put_object(Bucket=BUCKET, Key=key, Body=key.encode())

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(put, keys[put_from:]))
    paginator = s3.get_paginator("list_objects_v2")
    default_pages = [[c["Key"] for c in page.get("Contents", [])] for page in paginator.paginate(Bucket=BUCKET, Prefix="many/")]
    small_pages = [[c["Key"] for c in page.get("Contents", [])] for page in paginator.paginate(Bucket=BUCKET, Prefix="many/", PaginationConfig={"PageSize": 250})]
    # Delimiter listing folded across pages of two: every prefix once, in order, between the keys.
    fold_keys = ["fold/%s/x%d" % (d, i) for d in "abcde" for i in range(3)] + ["fold/top%d" % i for i in range(3)] + ["fold/b-file"]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(put, fold_keys))
    fold_pages = list(paginator.paginate(Bucket=BUCKET, Prefix="fold/", Delimiter="/", PaginationConfig={"PageSize": 2}))
    listed = [k for page in default_pages for k in page]
    listed_small = [k for page in small_pages for k in page]
    return {
        "count": count,
        "defaultPageSizes": [len(p) for p in default_pages], "smallPageSizes": [len(p) for p in small_pages],
        "defaultInOrder": listed == keys, "smallInOrder": listed_small == keys,
        "missing": sorted(set(keys) - set(listed))[:10], "unexpected": sorted(set(listed) - set(keys))[:10],
        "foldPages": [
            [c["Key"] for c in page.get("Contents", [])] + [p["Prefix"] for p in page.get("CommonPrefixes", [])] for page in fold_pages
        ],
    }


def fetch(url, method="GET", body=None):
    req = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return {"status": res.status, "body": res.read().decode()}
    except urllib.error.HTTPError as e:
        return {"status": e.code, "body": e.read().decode()}


def presign():
    # botocore presigns S3 URLs with SigV2 unless told otherwise; the orchestrator speaks SigV4
    # only, as do R2, B2 and S3's newer regions, so users of such endpoints configure s3v4.
    s3 = client(signature_version="s3v4")
    s3.put_object(Bucket=BUCKET, Key="presign/get.txt", Body=b"presigned by boto3")
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "presign/get.txt"}, ExpiresIn=300)
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "presign/put.txt"}, ExpiresIn=300)
    put = fetch(put_url, "PUT", b"uploaded through a presigned URL")
    default_url = client().generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "presign/get.txt"}, ExpiresIn=300)
    # botocore will not presign for 0 seconds: the parameter is set on a URL it signed.
    zero_url = get_url.replace("X-Amz-Expires=300", "X-Amz-Expires=0")
    assert zero_url != get_url
    long_url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "presign/get.txt"}, ExpiresIn=604801)
    return {
        "zero": fetch(zero_url), "tooLong": fetch(long_url), "options": fetch(get_url, "OPTIONS"),
        "getUrl": get_url, "get": fetch(get_url), "put": put,
        "afterPut": s3.get_object(Bucket=BUCKET, Key="presign/put.txt")["Body"].read().decode() if put["status"] == 200 else None,
        "defaultUrl": default_url, "defaultGet": fetch(default_url),
    }


def keys():
    """Keys that need escaping in URLs, signatures and XML (botocore lists with EncodingType=url)."""
    s3 = client()
    # No "a//b" keys: s3rver answers 404 to any path with an empty segment (S3 itself accepts them).
    names = ["keys/a b+c.txt", "keys/ünï/日本", "keys/ctl\x01x", "keys/amp&lt;", "keys/nl\nline", "keys/cr\rx", "keys/tab\tx", "keys/%2F", "keys/dot/./x/../y"]
    for k in names:
        s3.put_object(Bucket=BUCKET, Key=k, Body=k.encode())
    flat = s3.list_objects_v2(Bucket=BUCKET, Prefix="keys/")
    nested = s3.list_objects_v2(Bucket=BUCKET, Prefix="keys/", Delimiter="/")
    v1 = s3.list_objects(Bucket=BUCKET, Prefix="keys/")
    return {
        "names": names,
        "listed": [c["Key"] for c in flat.get("Contents", [])],
        "listedV1": [c["Key"] for c in v1.get("Contents", [])],
        "nestedKeys": [c["Key"] for c in nested.get("Contents", [])],
        "nestedPrefixes": [p["Prefix"] for p in nested.get("CommonPrefixes", [])],
        "bodiesMatch": [s3.get_object(Bucket=BUCKET, Key=k)["Body"].read() == k.encode() for k in names],
    }


def tagging():
    """Tags are not stored: an object's tag set is empty and writes with tags are refused."""
    s3 = client()
    s3.put_object(Bucket=BUCKET, Key="tags/plain.txt", Body=b"x")
    return {
        "tagSet": s3.get_object_tagging(Bucket=BUCKET, Key="tags/plain.txt")["TagSet"],
        "missing": error_of(lambda: s3.get_object_tagging(Bucket=BUCKET, Key="tags/none")),
        "putTagged": error_of(lambda: s3.put_object(Bucket=BUCKET, Key="tags/tagged.txt", Body=b"x", Tagging="team=storage")),
        "putTagging": error_of(lambda: s3.put_object_tagging(Bucket=BUCKET, Key="tags/plain.txt", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})),
        "taggedExists": error_of(lambda: s3.head_object(Bucket=BUCKET, Key="tags/tagged.txt")),
    }


def metadata():
    """Non-ASCII user metadata: RFC 2047 encoded words as sent, and UTF-8 values byte for byte."""
    s3 = client()
    words = {"b": "=?UTF-8?B?R3LDvMOfZSwg5p2x5Lqs?=", "q": "=?UTF-8?Q?Gr=C3=BC=C3=9Fe_=E6=9D=B1=E4=BA=AC?="}
    s3.put_object(Bucket=BUCKET, Key="meta/rfc2047", Body=b"x", Metadata=words)
    # botocore refuses non-ASCII metadata before sending it; a client that turns that check off
    # sends the value's UTF-8 bytes (and signs them). Header bytes come back decoded as latin-1.
    from botocore.handlers import validate_ascii_metadata
    raw = client()
    for op in ("PutObject", "CopyObject", "CreateMultipartUpload"):
        raw.meta.events.unregister("before-parameter-build.s3." + op, validate_ascii_metadata)
    text = {"greeting": "Grüße, 東京 — ☃ 🎉", "city": "Zürich"}
    raw.put_object(Bucket=BUCKET, Key="meta/utf8", Body=b"x", Metadata=text)
    path = os.path.join(WORKDIR, "meta-multipart.bin")
    with open(path, "wb") as f:
        f.write(data(6 * MiB, "meta"))
    raw.upload_file(path, BUCKET, "meta/utf8-multipart", ExtraArgs={"Metadata": {**text, **words}},
                    Config=TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB))
    raw.copy_object(Bucket=BUCKET, Key="meta/utf8-replaced", CopySource={"Bucket": BUCKET, "Key": "meta/utf8"},
                    MetadataDirective="REPLACE", Metadata={"city": "Genève"})
    utf8 = lambda meta: {k: v.encode("latin-1").decode("utf-8") for k, v in meta.items()}
    return {
        "rfc2047": {"head": s3.head_object(Bucket=BUCKET, Key="meta/rfc2047")["Metadata"],
                    "get": s3.get_object(Bucket=BUCKET, Key="meta/rfc2047")["Metadata"], "sent": words},
        "utf8": {"head": utf8(s3.head_object(Bucket=BUCKET, Key="meta/utf8")["Metadata"]),
                 "get": utf8(s3.get_object(Bucket=BUCKET, Key="meta/utf8")["Metadata"]), "sent": text},
        "multipart": utf8(s3.head_object(Bucket=BUCKET, Key="meta/utf8-multipart")["Metadata"]),
        "copied": utf8(s3.head_object(Bucket=BUCKET, Key="meta/utf8-replaced")["Metadata"]),
    }


def wrong_secret():
    s3 = client(secret="not-the-secret")
    return {
        "list": error_of(lambda: s3.list_objects_v2(Bucket=BUCKET)),
        "put": error_of(lambda: s3.put_object(Bucket=BUCKET, Key="denied.txt", Body=b"x")),
    }


SCENARIOS = {
    "objects": objects, "transfer": transfer, "paginate": paginate, "presign": presign, "keys": keys, "tagging": tagging,
    "wrong-secret": wrong_secret, "metadata": metadata,
}

if __name__ == "__main__":
    print(json.dumps(SCENARIOS[sys.argv[1]]()))
