"""HTTPS: `platekeeper serve --certfile --keyfile` serves TLS 1.2 or later, with HSTS and Secure cookies.

The certificate is self-signed, made in the test for 127.0.0.1. Camera keys, passwords and session cookies must
never cross the network in clear in the documented deployment.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import ssl
import subprocess
import sys
import time
import warnings
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient

from platekeeper.config import Settings
from platekeeper.db import Database
from platekeeper.web.app import create_app
from tests.browser import live_server
from tests.conftest import Harness, make_read


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "platekeeper test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = folder / "server.crt", folder / "server.key"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return certfile, keyfile


def _client_context(certfile: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certfile))


def test_https_with_hsts_secure_cookies_and_tls_1_2_or_later(
    tmp_path: Path, settings: Settings, database: Database
) -> None:
    certfile, keyfile = _certificate(tmp_path)
    app = create_app(settings, database)
    with TestClient(app) as local, live_server(app, certfile=certfile, keyfile=keyfile) as base:
        harness = Harness(settings=settings, database=database, client=local)
        harness.user("officer1", "sworn_officer")
        _, camera_key = harness.camera()
        assert base.startswith("https://")
        with httpx.Client(base_url=base, verify=_client_context(certfile)) as client:
            page = client.get("/login")
            signed_in = client.post("/api/v1/session", json=harness.sign_in_body("officer1"))
            upload = client.post(
                "/api/v1/reads", json={"reads": [make_read()]}, headers={"Authorization": f"Bearer {camera_key}"}
            )
        assert page.status_code == 200
        assert page.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        assert signed_in.status_code == 200, signed_in.text
        assert "secure" in [part.strip().lower() for part in signed_in.headers["set-cookie"].split(";")]
        assert upload.status_code == 200, upload.text

        port = int(base.rsplit(":", 1)[1])
        with (
            socket.create_connection(("127.0.0.1", port)) as raw,
            _client_context(certfile).wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.load_verify_locations(certfile)
        old.set_ciphers("DEFAULT:@SECLEVEL=0")  # let this client offer TLS 1.1, so the refusal is the server's
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.1 is deprecated: that is the point
            old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_1
        with socket.create_connection(("127.0.0.1", port)) as raw, pytest.raises(ssl.SSLError):
            old.wrap_socket(raw, server_hostname="127.0.0.1")

        with httpx.Client(base_url=base.replace("https://", "http://")) as plain, pytest.raises(httpx.HTTPError):
            plain.get("/login")  # the TLS port does not also answer in clear


def _cli(tmp_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "platekeeper", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PLATEKEEPER_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "300"},
        cwd=tmp_path,
        check=False,
        timeout=timeout,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_the_serve_command_listens_with_tls(tmp_path: Path) -> None:
    certfile, keyfile = _certificate(tmp_path)
    assert _cli(tmp_path, "db", "upgrade").returncode == 0
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "platekeeper", "serve", "--port", str(port), "--certfile", str(certfile),
         "--keyfile", str(keyfile)],
        env={**os.environ, "PLATEKEEPER_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "300",
             "PLATEKEEPER_RECOGNITION_QUEUE__IN_PROCESS_WORKER": "false"},
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                response = httpx.get(f"https://127.0.0.1:{port}/healthz", verify=_client_context(certfile))
                break
            except httpx.ConnectError:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                assert time.monotonic() < deadline, "the server did not listen within 90 s"
                time.sleep(0.5)
        assert response.status_code == 200
        assert "strict-transport-security" in response.headers
        assert "server" not in response.headers
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert f"serving on https://127.0.0.1:{port}" in " ".join(output.split())


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--certfile", "server.crt"], "give both the certificate (--certfile) and its private key (--keyfile)"),
        (["--certfile", "missing.crt", "--keyfile", "server.key"], "missing.crt: no such file"),
        (["--certfile", "server.key", "--keyfile", "server.key"], "cannot be used together"),
    ],
)
def test_a_bad_certificate_is_refused_before_listening(tmp_path: Path, args: list[str], said: str) -> None:
    _certificate(tmp_path)
    assert _cli(tmp_path, "db", "upgrade").returncode == 0
    result = _cli(tmp_path, "serve", "--port", str(_free_port()), *args, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert said in " ".join(result.stderr.split())
