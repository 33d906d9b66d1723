"""A throwaway certificate authority, made per test with ``cryptography``: server and client
certificates as files, and server contexts."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _valid_for_a_day(builder: x509.CertificateBuilder) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        builder.serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


@dataclass
class ThrowawayCA:
    """A CA whose certificate is in ``ca_file``; it issues certificates as files."""

    directory: Path
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.pem"

    @classmethod
    def create(cls, directory: Path, name: str = "Quantized test CA") -> ThrowawayCA:
        key = ec.generate_private_key(ec.SECP256R1())
        usage = x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=True,
            crl_sign=True,
            encipher_only=False,
            decipher_only=False,
        )
        certificate = (
            _valid_for_a_day(x509.CertificateBuilder())
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .sign(key, hashes.SHA256())
        )
        directory.mkdir(parents=True, exist_ok=True)
        ca = cls(directory, key, certificate)
        ca.ca_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return ca

    def issue(
        self, stem: str, *names: str, usage: x509.ObjectIdentifier = ExtendedKeyUsageOID.SERVER_AUTH
    ) -> tuple[Path, Path]:
        """A certificate for ``names`` (DNS names or IP addresses): (certificate, key) files."""
        key = ec.generate_private_key(ec.SECP256R1())
        alternatives: list[x509.GeneralName] = []
        for name in names:
            try:
                alternatives.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alternatives.append(x509.DNSName(name))
        builder = (
            _valid_for_a_day(x509.CertificateBuilder())
            .subject_name(_name(names[0]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if usage is ExtendedKeyUsageOID.SERVER_AUTH:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(alternatives), critical=False
            )
        certificate = builder.sign(self.key, hashes.SHA256())
        cert_file, key_file = self.directory / f"{stem}.pem", self.directory / f"{stem}.key"
        cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(_pem(key))
        return cert_file, key_file

    def server_context(self, *names: str) -> ssl.SSLContext:
        """A server context with a certificate for ``names``."""
        cert_file, key_file = self.issue(f"server-{x509.random_serial_number()}", *names)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        return context


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def make_tls_files(directory: Path) -> TlsFiles:
    """A CA valid for a day, a server certificate for 127.0.0.1/localhost, a client one."""
    ca = ThrowawayCA.create(directory)
    server_cert, server_key = ca.issue("server", "127.0.0.1", "localhost")
    client_cert, client_key = ca.issue("client", "quantized", usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    return TlsFiles(ca.ca_file, server_cert, server_key, client_cert, client_key)
