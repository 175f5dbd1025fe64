// How to reach a NATS broker and prove who we are (issue 8): the URL of
// `--broker` and the `--nats-*` options, as one value. Every process that
// connects for a run (the keeper, each worker, `flowrun check`) gets the
// same BrokerAccess, so they cannot connect differently.
//
// No libnats here: the supervisor and the command line read it, and the
// supervisor must make no libnats call (runtime/broker_edges.h).
//
// Secrets. A user and password or a token may be in the URL, and a
// credentials file holds a JWT and a private seed: none of them may reach a
// message, a log line, --stats or `check`'s plan. What is shown is
// RedactedUrl(url) and the files' paths, never their contents.
#pragma once

#include <string>
#include <string_view>

namespace flow {

struct BrokerAccess {
  std::string url;            // nats://[user:password@]host:port (tls://... for TLS), or several, comma-separated
  std::string creds_file;     // --nats-creds: a .creds file (JWT and NKey seed); "" for none
  std::string nkey_file;      // --nats-nkey: a user NKey seed file (SU...), without a JWT; "" for none
  std::string tls_ca_file;    // --nats-tls-ca: PEM certificates the server's must chain to
  std::string tls_cert_file;  // --nats-tls-cert and --nats-tls-key: our own certificate
  std::string tls_key_file;   //   and its key, for servers that verify clients

  bool empty() const { return url.empty(); }
  // TLS is required when a URL says tls:// or any TLS file is given.
  bool tls() const;
  // Whether we present any credentials: a user or token in the URL, or a file.
  bool has_credentials() const;
};

// `url` with any user, password or token replaced by "***".
std::string RedactedUrl(std::string_view url);

// `text` with every user, password and token of `access.url` replaced by
// "***": a last guard on a message built from a library's words.
std::string WithoutSecrets(std::string text, const BrokerAccess& access);

// Why the files of `access` cannot be used, before anything connects
// ("cannot read the TLS CA file 'ca.pem' (--nats-tls-ca): No such file or
// directory"); "" when every file given can be read.
std::string BrokerFilesProblem(const BrokerAccess& access);

}  // namespace flow
