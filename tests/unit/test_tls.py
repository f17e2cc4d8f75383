"""SIP over TLS settings and certificates (hotline/tls.py), with the real openssl: the self-signed
certificate is made once with a 0600 key; a site's pair is checked and copied 0600; a half pair,
a key of another certificate, an encrypted key or a file that is not PEM is refused with one line
naming the file; the rendered pjsip.conf has the TLS transport and SRTP for operators."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from hotline import cli, config, tls
from hotline.render import render, render_guard


def _pair(folder: Path, name: str, *extra: str) -> tuple[Path, Path]:
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-days", "30",
                    "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}.example",
                    *(extra or ("-nodes",))], check=True, capture_output=True, timeout=60)
    return cert, key


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_the_self_signed_certificate_is_made_once_with_a_private_key(tmp_path: Path) -> None:
    settings = config.load_or_create(tmp_path / "runtime")
    made = tls.prepare(settings)
    assert made.self_signed
    assert (_mode(made.key.parent), _mode(made.key), _mode(made.cert)) == (0o700, 0o600, 0o600)
    text = subprocess.run(["openssl", "x509", "-in", str(made.cert), "-noout", "-text"],
                          capture_output=True, text=True, check=True).stdout
    assert "CN = 19001122 hotline" in text and "IP Address:127.0.0.1" in text
    before = made.key.read_bytes(), made.cert.read_bytes()
    assert tls.prepare(settings) == made
    assert (made.key.read_bytes(), made.cert.read_bytes()) == before  # kept, not made again
    assert sorted(p.name for p in made.key.parent.iterdir()) == ["self-signed.crt",
                                                                  "self-signed.key"]


def test_a_site_pair_is_checked_and_copied_private(tmp_path: Path) -> None:
    cert, key = _pair(tmp_path, "sip")
    key.chmod(0o640)
    settings = config.load_or_create(tmp_path / "runtime", tls_cert=str(cert), tls_key=str(key))
    copy = tls.prepare(settings)
    assert not copy.self_signed
    assert copy.cert.read_bytes() == cert.read_bytes()
    assert copy.key.read_bytes() == key.read_bytes()
    assert (_mode(copy.key), _mode(copy.cert)) == (0o600, 0o600)
    assert copy == tls.files(settings)


@pytest.mark.parametrize("case", ["half", "other key", "encrypted key", "not PEM", "missing"])
def test_an_unusable_site_pair_is_refused_with_the_file_named(case: str, tmp_path: Path) -> None:
    cert, key = _pair(tmp_path, "sip")
    _, other = _pair(tmp_path, "other")
    _, locked = _pair(tmp_path, "locked", "-passout", "pass:secret-phrase")
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    given, expected = {
        "half": ((str(cert), ""), "give both --tls-cert and --tls-key"),
        "other key": ((str(cert), str(other)),
                      f"the key {other} does not belong to the certificate {cert}"),
        "encrypted key": ((str(cert), str(locked)),
                          f"{locked} is not an unencrypted PEM private key"),
        "not PEM": ((str(junk), str(key)), f"{junk} is not a PEM certificate"),
        "missing": ((str(tmp_path / "none.crt"), str(key)),
                    f"{tmp_path / 'none.crt'} (--tls-cert) is not a file"),
    }[case]
    settings = config.load_or_create(tmp_path / "runtime", tls_cert=given[0], tls_key=given[1])
    with pytest.raises(tls.CertificateError) as refused:
        tls.prepare(settings)
    assert expected in str(refused.value)
    assert "PRIVATE KEY" not in str(refused.value)
    assert not (settings.runtime / "tls" / "site.key").exists()


def test_up_with_a_wrong_pair_starts_nothing(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    cert, _ = _pair(tmp_path, "sip")
    _, other = _pair(tmp_path, "other")
    runtime = tmp_path / "runtime"
    # ports of its own: a hotline running on this machine must not answer for the pair
    config.load_or_create(runtime, **{f"{name}_port": config.free_port() for name in (
        "sip", "tls", "ami", "agi", "redis", "web")})
    code = cli.main(["--runtime", str(runtime), "up", "--tls-cert", str(cert), "--tls-key",
                     str(other)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.splitlines() == [(f"hotline up: the key {other} does not belong to the "
                                 f"certificate {cert}: give the pair that was issued together")]
    assert not (runtime / "run").exists() or not any((runtime / "run").iterdir())


def test_pjsip_conf_has_the_tls_transport_and_srtp_for_operators(tmp_path: Path) -> None:
    settings = config.load_or_create(tmp_path / "runtime", sip_port=config.free_port(),
                                     tls_port=config.free_port())
    render(settings)
    pjsip = (settings.etc / "pjsip.conf").read_text()
    files = tls.files(settings)
    transport = pjsip.split("[transport-tls]")[1].split("\n\n")[0]
    assert f"bind = 127.0.0.1:{settings.tls_port}\n" in transport
    assert f"cert_file = {files.cert}\npriv_key_file = {files.key}\n" in transport
    assert f"ca_list_file = {files.cert}\n" in transport
    operators = pjsip.split("[operator-endpoint]")[1].split("\n\n")[0]
    assert "media_encryption = sdes\nmedia_encryption_optimistic = yes" in operators
    # the SIP guard drops a password guesser on the TLS port too
    jail = (render_guard(settings) / "jail.conf").read_text()
    assert f'port="{settings.sip_port},{settings.tls_port}"' in jail
    settings.sip_tls = False
    render(settings)
    off = (settings.etc / "pjsip.conf").read_text()
    assert "transport-tls" not in off and "cert_file" not in off
    assert f'port="{settings.sip_port}"' in (render_guard(settings) / "jail.conf").read_text()


def test_the_tls_port_is_the_sip_port_plus_one_unless_another_service_has_it(
        tmp_path: Path) -> None:
    # the other services' ports given, not picked: a hotline running on this machine holds
    # their defaults, and the spare ports picked instead would follow the SIP port
    others = {f"{name}_port": config.free_port() for name in ("agi", "redis", "web")}
    ami = config.free_port()
    sip = config.free_port()
    while config.free_port(sip + 1) != sip + 1:  # another program holds the port after it
        sip = config.free_port()
    assert config.load_or_create(tmp_path / "a", sip_port=sip, ami_port=ami,
                                 **others).tls_port == sip + 1
    taken = config.load_or_create(tmp_path / "b", sip_port=sip, ami_port=sip + 1, **others)
    assert taken.tls_port not in (sip + 1, sip)
    # a runtime folder from before SIP over TLS gets a port on its next start
    data = json.loads((tmp_path / "b" / config.SETTINGS_FILE).read_text())
    del data["tls_port"]
    (tmp_path / "b" / config.SETTINGS_FILE).write_text(json.dumps(data))
    assert config.load_or_create(tmp_path / "b").tls_port > 0


@pytest.mark.parametrize(("key", "value", "phrase"), [
    ("sip_tls", "yes", "sip_tls: true or false, not 'yes'"),
    ("tls_port", 70000, "tls_port: a port"),
    ("tls_cert", "certs/site.crt", "tls_cert: the absolute path of a PEM file"),
    ("tls_key", 5, "tls_key: the absolute path of a PEM file"),
])
def test_bad_tls_settings_in_the_file_are_refused(key: str, value: object, phrase: str,
                                                  tmp_path: Path) -> None:
    config.load_or_create(tmp_path)
    data = json.loads((tmp_path / config.SETTINGS_FILE).read_text())
    data[key] = value
    (tmp_path / config.SETTINGS_FILE).write_text(json.dumps(data))
    with pytest.raises(config.SettingsError) as refused:
        config.load(tmp_path)
    assert phrase in str(refused.value)
