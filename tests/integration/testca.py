"""A test certificate authority for the mail tests: a CA and server
certificates it signs, with the subjectAltNames a test asks for, made with
the openssl command line tool (Debian's openssl package)."""

import os
import subprocess


class TestCA:
    """A CA in directory d: d/ca.pem (the certificate to trust), d/ca.key."""

    def __init__(self, d, name="overblik test CA"):
        self.dir = d
        os.makedirs(d, exist_ok=True)
        self.cert = os.path.join(d, "ca.pem")
        self.key = os.path.join(d, "ca.key")
        self._run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name,
                   "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                   "-days", "2", "-keyout", self.key, "-out", self.cert])

    @staticmethod
    def _run(cmd):
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("%s failed: %s" % (" ".join(cmd), r.stderr))

    def issue(self, name, cn, sans):
        """A server certificate signed by the CA: subject CN=cn, subjectAltName
        the list sans (e.g. ["DNS:mx.nvk.test", "IP:127.0.0.1"]; [] for none).
        Returns (cert, key) paths: d/name.pem, d/name.key."""
        cert = os.path.join(self.dir, name + ".pem")
        key = os.path.join(self.dir, name + ".key")
        csr = os.path.join(self.dir, name + ".csr")
        ext = os.path.join(self.dir, name + ".ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=serverAuth\n")
            if sans:
                f.write("subjectAltName=" + ",".join(sans) + "\n")
        self._run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + cn,
                   "-keyout", key, "-out", csr])
        self._run(["openssl", "x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key, "-CAcreateserial",
                   "-days", "2", "-sha256", "-extfile", ext, "-out", cert])
        os.chmod(key, 0o600)
        return cert, key
