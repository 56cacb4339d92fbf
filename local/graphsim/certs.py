"""Key material the simulator makes at start: a CA, a TLS leaf, signing keys, the app's cert.

Nothing here is persisted beyond the PEM files the simulator writes into its own temporary
folder (or the paths it is given), so every simulator run has fresh, throwaway keys.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import shutil
from dataclasses import dataclass
from pathlib import Path

import certifi
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_KEY_SIZE = 2048


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=_KEY_SIZE)


def key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _validity(builder: x509.CertificateBuilder, days: int) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return builder.not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(
        now + dt.timedelta(days=days)
    )


@dataclass(frozen=True)
class TlsMaterial:
    """The simulator's CA and its HTTPS leaf (SAN: localhost, 127.0.0.1 and the bind host)."""

    ca_cert: x509.Certificate
    leaf_cert: x509.Certificate
    leaf_key: rsa.RSAPrivateKey


def make_tls(host: str = "127.0.0.1") -> TlsMaterial:
    ca_key = new_rsa_key()
    ca_builder = (
        x509.CertificateBuilder()
        .subject_name(_name("PolicyVault graphsim CA"))
        .issuer_name(_name("PolicyVault graphsim CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
    )
    ca_cert = _validity(ca_builder, 30).sign(ca_key, hashes.SHA256())

    leaf_key = new_rsa_key()
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    try:
        bind_ip = ipaddress.ip_address(host)
        if str(bind_ip) != "127.0.0.1":
            names.append(x509.IPAddress(bind_ip))
    except ValueError:
        if host != "localhost":
            names.append(x509.DNSName(host))
    leaf_builder = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    leaf_cert = _validity(leaf_builder, 30).sign(ca_key, hashes.SHA256())
    return TlsMaterial(ca_cert=ca_cert, leaf_cert=leaf_cert, leaf_key=leaf_key)


@dataclass(frozen=True)
class AppCertificate:
    """The simulated app registration's certificate credential (what an MSP uploads)."""

    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    @property
    def sha1_thumbprint(self) -> str:
        return self.cert.fingerprint(hashes.SHA1()).hex().upper()

    @property
    def sha256_thumbprint(self) -> str:
        return self.cert.fingerprint(hashes.SHA256()).hex().upper()

    @property
    def x5t(self) -> str:
        return b64url(self.cert.fingerprint(hashes.SHA1()))

    @property
    def x5t_s256(self) -> str:
        return b64url(self.cert.fingerprint(hashes.SHA256()))


def make_app_certificate(client_id: str) -> AppCertificate:
    key = new_rsa_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(f"graphsim-app-{client_id}"))
        .issuer_name(_name(f"graphsim-app-{client_id}"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
    )
    cert = _validity(builder, 365).sign(key, hashes.SHA256())
    return AppCertificate(key=key, cert=cert)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict:
    numbers = key.public_key().public_numbers()

    def _int(value: int) -> str:
        return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
            "n": _int(numbers.n), "e": _int(numbers.e)}


def write_ca_bundle(ca_pem_path: str | Path, out_path: str | Path) -> Path:
    """Write system CAs (certifi) followed by the simulator CA to one bundle file.

    Point both SSL_CERT_FILE (httpx) and REQUESTS_CA_BUNDLE (requests, hence MSAL) at it.
    """
    out = Path(out_path)
    with open(out, "wb") as dst:
        with open(certifi.where(), "rb") as src:
            shutil.copyfileobj(src, dst)
        dst.write(b"\n")
        dst.write(Path(ca_pem_path).read_bytes())
    return out
