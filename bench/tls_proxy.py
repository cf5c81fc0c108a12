#!/usr/bin/env python3
"""TLS terminator in front of a plain-HTTP S3 server, for bench/s3_bench.sh.

    tls_proxy.py CERT KEY LISTEN_PORT TARGET_PORT

restic's S3 client (minio-go) signs uploads over plain HTTP with the aws-chunked streaming
signature, which s3rver 3.7.1 stores verbatim (chunk headers inside the object). Over HTTPS it
sends plain bodies, so restic can use s3rver through this proxy. Bytes are copied unchanged.
"""
import asyncio
import ssl
import sys


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(1 << 18)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def main():
    cert, key, listen_port, target_port = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)

    async def handle(client_reader, client_writer):
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, up_writer), pipe(up_reader, client_writer))

    server = await asyncio.start_server(handle, "127.0.0.1", listen_port, ssl=ctx)
    print(f"tls_proxy listening on 127.0.0.1:{listen_port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
