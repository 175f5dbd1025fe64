"""What a broker test needs to prove who it is, made at test time in a
scratch directory: TLS certificates (openssl) and NATS credentials
(operator, account and user JWTs with their NKeys, signed with Python's
`cryptography`). Nothing here is a secret worth keeping: every key lives
for one test.
"""
import base64
import hashlib
import json
import os
import subprocess
import time


def make_certificates(directory, openssl):
    """ca.pem; server.pem/.key for 127.0.0.1; client.pem/.key: both signed
    by the CA (about 0.1 s)."""
    def run(*args):
        subprocess.run([openssl, *args], cwd=directory, check=True, capture_output=True, timeout=30)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=flowrun test CA")
    with open(os.path.join(directory, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name in ("server", "client"):
        run("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN=flowrun test {name}")
        extra = ["-extfile", "server.ext"] if name == "server" else []
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", "1", *extra)


def _crc16(data):
    """CRC-16/XMODEM, which NKeys append (little-endian)."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _b32(raw):
    return base64.b32encode(raw).decode().rstrip("=")


def _b64(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _nkey(kind):
    """A new NKey of `kind` ('O'perator, 'A'ccount, 'U'ser): its public key,
    its seed as text, and the private key that signs."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    prefix = {"O": 14 << 3, "A": 0, "U": 20 << 3}[kind]
    key = Ed25519PrivateKey.generate()
    raw_seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())
    raw_public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    public = bytes([prefix]) + raw_public
    seed = bytes([(18 << 3) | (prefix >> 5), (prefix & 31) << 3]) + raw_seed
    return (_b32(public + _crc16(public).to_bytes(2, "little")),
            _b32(seed + _crc16(seed).to_bytes(2, "little")), key)


def _jwt(issuer, issuer_key, subject, name, nats):
    claims = {"iat": int(time.time()), "iss": issuer, "name": name, "sub": subject, "nats": nats}
    claims["jti"] = _b32(hashlib.sha256(json.dumps(claims, sort_keys=True).encode()).digest())
    head = _b64(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
    body = _b64(json.dumps(claims).encode())
    return f"{head}.{body}.{_b64(issuer_key.sign(f'{head}.{body}'.encode()))}"


def _creds(user_jwt, seed):
    return (f"-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n"
            f"-----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n")


def have_credentials_maker():
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519  # noqa: F401
        return True
    except ImportError:
        return False


def make_credentials(directory):
    """An operator with a JetStream account, for nats-server's -c: writes
    server.conf, user.creds (a user of that account) and stranger.creds (a
    user of an account the server does not know). Returns the user's seed
    and the stranger's, which no output may show."""
    operator, _, operator_key = _nkey("O")
    account, _, account_key = _nkey("A")
    system, _, _ = _nkey("A")
    stranger_account, _, stranger_key = _nkey("A")
    unlimited = {k: -1 for k in ("subs", "data", "payload", "imports", "exports", "conn", "leaf",
                                 "mem_storage", "disk_storage", "streams", "consumer")}
    unlimited["wildcards"] = True
    operator_jwt = _jwt(operator, operator_key, operator, "flowrun test", {"type": "operator", "version": 2})
    account_jwt = _jwt(operator, operator_key, account, "flowrun", {"type": "account", "version": 2,
                                                                    "limits": unlimited})
    system_jwt = _jwt(operator, operator_key, system, "SYS", {"type": "account", "version": 2})
    anyone = {"type": "user", "version": 2, "pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1}
    seeds = []
    for name, signer, signer_key in (("user", account, account_key), ("stranger", stranger_account, stranger_key)):
        user, seed, _ = _nkey("U")
        with open(os.path.join(directory, f"{name}.creds"), "w") as f:
            f.write(_creds(_jwt(signer, signer_key, user, name, anyone), seed))
        seeds.append(seed)
    with open(os.path.join(directory, "operator.jwt"), "w") as f:
        f.write(operator_jwt)
    with open(os.path.join(directory, "server.conf"), "w") as f:
        f.write(f'operator: "{os.path.join(directory, "operator.jwt")}"\nresolver: MEMORY\n'
                f'system_account: {system}\nresolver_preload: {{\n  {account}: "{account_jwt}"\n'
                f'  {system}: "{system_jwt}"\n}}\n')
    return seeds


def make_nkey_users(directory):
    """A server configuration with one NKey user and no JWTs: writes
    nkey.conf (for nats-server's -c) and the seed files user.nk (the user's)
    and stranger.nk (a user it does not know). Returns both seeds, which no
    output may show."""
    public, seed, _ = _nkey("U")
    _, stranger_seed, _ = _nkey("U")
    for name, text in (("user.nk", seed), ("stranger.nk", stranger_seed)):
        with open(os.path.join(directory, name), "w") as f:
            f.write(text + "\n")
    with open(os.path.join(directory, "nkey.conf"), "w") as f:
        f.write(f'authorization {{\n  users = [ {{ nkey: "{public}" }} ]\n}}\n')
    return seed, stranger_seed
