"""The certificate of SIP over TLS (docs/security.md).

Asterisk reads the certificate and its private key from ``<runtime>/tls`` (the folder 0700, every
file in it 0600): the Asterisk 22 chroot sees only the runtime folder, so a site's own files
(``tls_cert``/``tls_key``, ``hotline up --tls-cert/--tls-key``) are checked and copied there on
every ``hotline up``; without them ``hotline up`` makes a self-signed certificate for the demo
once and keeps it. Everything is done with the ``openssl`` command line (Debian's ``openssl``).

A configured pair is refused, before anything starts, when a file cannot be read, is not PEM,
the key is encrypted or does not belong to the certificate, or the certificate has expired. No
message ever quotes the key.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .config import Settings

SELF_SIGNED_DAYS = 825


class CertificateError(Exception):
    """The configured certificate or key cannot be used (the message names the file and what to
    do), or openssl is missing."""

    code = "hotline.tls_certificate"


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path
    self_signed: bool


def files(settings: Settings) -> Certificate:
    """Where Asterisk reads the certificate and key (the copies in the runtime folder)."""
    folder = settings.runtime / "tls"
    if settings.tls_cert:
        return Certificate(folder / "site.crt", folder / "site.key", self_signed=False)
    return Certificate(folder / "self-signed.crt", folder / "self-signed.key", self_signed=True)


def _openssl(*args: str, what: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("openssl")
    if binary is None:
        raise CertificateError("openssl is not installed (Debian package openssl): it is needed "
                               "for SIP over TLS; install it, or turn TLS off with "
                               "'hotline up --sip-tls off'")
    try:
        return subprocess.run([binary, *args], capture_output=True, text=True, check=False,
                              stdin=subprocess.DEVNULL, timeout=60, errors="replace")
    except subprocess.TimeoutExpired:
        raise CertificateError(f"openssl did not answer within 60 s ({what})") from None


def _public_key(path: Path, *, of: str) -> str:
    """The public key of a certificate (``of="cert"``) or of a private key (``of="key"``)."""
    if of == "cert":
        result = _openssl("x509", "-in", str(path), "-noout", "-pubkey", what=f"reading {path}")
        if result.returncode != 0:
            raise CertificateError(f"{path} is not a PEM certificate: give the certificate "
                                   "(and its chain) in PEM form with --tls-cert")
        return result.stdout.strip()
    # an empty pass phrase: an encrypted key fails here instead of prompting
    result = _openssl("pkey", "-in", str(path), "-pubout", "-passin", "pass:",
                      what=f"reading {path}")
    if result.returncode != 0:
        raise CertificateError(f"{path} is not an unencrypted PEM private key: give the key "
                               "without a pass phrase (openssl pkey -in KEY -out NEW) with "
                               "--tls-key")
    return result.stdout.strip()


def check(cert: Path, key: Path) -> None:
    """A site's certificate and key are usable together, or :class:`CertificateError`."""
    for path, flag in ((cert, "--tls-cert"), (key, "--tls-key")):
        if not path.is_file():
            raise CertificateError(f"{path} ({flag}) is not a file")
        if not os.access(path, os.R_OK):
            raise CertificateError(f"{path} ({flag}) cannot be read by this user")
    if _public_key(cert, of="cert") != _public_key(key, of="key"):
        raise CertificateError(f"the key {key} does not belong to the certificate {cert}: give "
                               "the pair that was issued together")
    if _openssl("x509", "-in", str(cert), "-noout", "-checkend", "0",
                what=f"reading {cert}").returncode != 0:
        raise CertificateError(f"the certificate {cert} has expired: renew it, then run "
                               "'hotline up' again")


def _tmp(path: Path) -> Path:
    return path.with_name(path.name + ".tmp")


def _private_copy(source: Path, target: Path) -> None:
    tmp = _tmp(target)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(source.read_bytes())
    os.chmod(tmp, 0o600)
    os.replace(tmp, target)


def _names(settings: Settings) -> str:
    """The subjectAltName of the self-signed certificate: this machine's name, loopback, and the
    SIP address when it is a single one."""
    names = ["DNS:localhost", f"DNS:{socket.gethostname()}", "IP:127.0.0.1"]
    if settings.sip_bind not in ("0.0.0.0", "127.0.0.1"):
        names.append(f"IP:{settings.sip_bind}")
    return ",".join(names)


def _self_signed(settings: Settings, target: Certificate) -> None:
    key_tmp, cert_tmp = _tmp(target.key), _tmp(target.cert)
    # the key file exists, empty and 0600, before openssl writes into it
    os.close(os.open(key_tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    result = _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
                      "-days", str(SELF_SIGNED_DAYS), "-keyout", str(key_tmp),
                      "-out", str(cert_tmp), "-subj", f"/CN={settings.hotline_number} hotline",
                      "-addext", f"subjectAltName={_names(settings)}",
                      what="making a self-signed certificate")
    if result.returncode != 0:
        key_tmp.unlink(missing_ok=True)
        cert_tmp.unlink(missing_ok=True)
        raise CertificateError(f"openssl could not make a self-signed certificate: "
                               f"{result.stderr.strip()[-300:]}")
    for path in (key_tmp, cert_tmp):
        os.chmod(path, 0o600)
    os.replace(key_tmp, target.key)  # the key first: a certificate is never without its key
    os.replace(cert_tmp, target.cert)


def prepare(settings: Settings) -> Certificate:
    """The certificate and key Asterisk reads, in place: the site's (checked, copied) or the
    self-signed one (made once, then kept)."""
    if bool(settings.tls_cert) != bool(settings.tls_key):
        raise CertificateError("give both --tls-cert and --tls-key (tls_cert and tls_key in "
                               "hotline.json): a certificate and its private key; neither for "
                               "a self-signed certificate")
    target = files(settings)
    folder = target.cert.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    if not target.self_signed:
        cert, key = Path(settings.tls_cert), Path(settings.tls_key)
        check(cert, key)
        _private_copy(key, target.key)
        _private_copy(cert, target.cert)
    elif not (target.cert.exists() and target.key.exists()):
        _self_signed(settings, target)
    return target
