#!/usr/bin/python3
"""Signs a few S3 requests with Debian's python3-botocore (S3SigV4Auth, the signer of AWS's own
SDK) at a fixed time and prints what it produced as JSON (botocore_vectors.json). sigv4_test.cpp
signs the same requests and must produce the same canonical requests and Authorization headers.

  apt-get install -y python3-botocore
  /usr/bin/python3 botocore_vectors.py > botocore_vectors.json
"""
import datetime
import hashlib
import json
import types
from urllib.parse import quote

import botocore
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

FIXED = datetime.datetime(2024, 12, 1, 2, 0, 0)


class FixedDateTime(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return FIXED


botocore.auth.datetime = types.SimpleNamespace(datetime=FixedDateTime)

ACCESS = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLETOKEN//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+test/token=="


def case(name, method, base, path, query=(), headers=(), body=b"", region="us-east-1", token=None):
    # botocore's serializer percent-encodes the key with safe='/~' (and S3 keeps it as is).
    url = base + quote(path, safe="/~")
    req = AWSRequest(method=method, url=url, data=body, params=list(query), headers=dict(headers))
    auth = botocore.auth.S3SigV4Auth(Credentials(ACCESS, SECRET, token), "s3", region)
    auth.add_auth(req)
    authorization = req.headers["Authorization"]
    del req.headers["Authorization"]
    creq = auth.canonical_request(req)
    signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    to_sign = auth.headers_to_sign(req)
    signed_headers = [[h, v] for h in signed for v in to_sign.get_all(h)]
    return {"name": name, "method": method, "path": path, "query": [list(q) for q in query],
            "headers": signed_headers, "body_sha256": hashlib.sha256(body).hexdigest(),
            "region": region, "session_token": token or "", "canonical_request": creq,
            "authorization": authorization}


body = b"pack bytes \x00\x01\x02 " * 100
md5 = __import__("base64").b64encode(hashlib.md5(body).digest()).decode()
delete_xml = (b'<Delete><Quiet>true</Quiet><Object><Key>backups/data/a&amp;b</Key></Object>'
              b'<Object><Key>backups/data/c</Key></Object></Delete>')
delete_md5 = __import__("base64").b64encode(hashlib.md5(delete_xml).digest()).decode()

cases = [
    case("put-path-style-with-body", "PUT", "http://127.0.0.1:4569", "/coffer-test/backups/data/ab/abcdef0123",
         headers={"Content-MD5": md5, "Content-Type": "application/octet-stream",
                  "x-amz-storage-class": "STANDARD_IA"}, body=body),
    case("put-virtual-hosted-sse-kms", "PUT", "https://my-bucket.s3.eu-central-1.amazonaws.com",
         "/backups/index/0001", headers={"Content-MD5": md5, "x-amz-server-side-encryption": "aws:kms",
                                         "x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                                         "If-None-Match": "*"},
         body=body, region="eu-central-1"),
    case("get-range", "GET", "https://my-bucket.s3.eu-central-1.amazonaws.com",
         "/backups/snapshots/full_20241201_020000", headers={"Range": "bytes=100-199"}, region="eu-central-1"),
    case("head-odd-key", "HEAD", "http://127.0.0.1:4569", "/coffer-test/backups/files/a b+c=d&e\u00e9 ~(1).txt"),
    case("list-objects-v2", "GET", "http://127.0.0.1:4569", "/coffer-test",
         query=[("list-type", "2"), ("prefix", "backups/data/"), ("max-keys", "1000"),
                ("continuation-token", "1/abc+def==")]),
    case("list-objects-v2-session-token", "GET", "https://my-bucket.s3.us-west-2.amazonaws.com", "/",
         query=[("list-type", "2"), ("prefix", "backups/")], region="us-west-2", token=TOKEN),
    case("delete-objects", "POST", "http://127.0.0.1:4569", "/coffer-test", query=[("delete", "")],
         headers={"Content-MD5": delete_md5, "Content-Type": "application/xml"}, body=delete_xml),
    case("upload-part", "PUT", "http://127.0.0.1:4569", "/coffer-test/backups/data/big",
         query=[("partNumber", "3"), ("uploadId", "VXBsb2FkIElEIGZvciA2aWZ5+/=")],
         headers={"Content-MD5": md5}, body=body),
    case("delete-object", "DELETE", "http://127.0.0.1:4569", "/coffer-test/backups/locks/host-42"),
]
print(json.dumps({"generator": "python3-botocore " + botocore.__version__ + " S3SigV4Auth",
                  "access_key": ACCESS, "secret_key": SECRET,
                  "amz_date": FIXED.strftime("%Y%m%dT%H%M%SZ"), "cases": cases}, indent=1, ensure_ascii=False))
