#include "runtime/broker_access.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace flow {
namespace {

// Each URL of a comma-separated list, as written.
std::vector<std::string_view> Urls(std::string_view list) {
  std::vector<std::string_view> urls;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string_view::npos) end = list.size();
    urls.push_back(list.substr(start, end - start));
    start = end + 1;
  }
  return urls;
}

// Where the host starts, and the "user:password" or token before it ("" if none).
size_t HostStart(std::string_view url) {
  const size_t scheme = url.find("://");
  return scheme == std::string_view::npos ? 0 : scheme + 3;
}
std::string_view UserInfo(std::string_view url) {
  const size_t host = HostStart(url);
  const size_t at = url.find('@', host);
  return at == std::string_view::npos ? std::string_view() : url.substr(host, at - host);
}

void ReplaceAll(std::string& text, std::string_view secret) {
  if (secret.empty()) return;
  for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3))
    text.replace(at, secret.size(), "***");
}

std::string FileProblem(const std::string& path, const char* what, const char* option) {
  if (path.empty()) return "";
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    close(fd);
    return "";
  }
  return std::string("cannot read the ") + what + " '" + path + "' (" + option + "): " + strerror(errno);
}

}  // namespace

bool BrokerAccess::tls() const {
  if (!tls_ca_file.empty() || !tls_cert_file.empty() || !tls_key_file.empty()) return true;
  for (std::string_view one : Urls(url))
    if (one.substr(0, 6) == "tls://") return true;
  return false;
}

bool BrokerAccess::has_credentials() const {
  if (!creds_file.empty() || !nkey_file.empty()) return true;
  for (std::string_view one : Urls(url))
    if (!UserInfo(one).empty()) return true;
  return false;
}

std::string RedactedUrl(std::string_view url) {
  std::string out;
  for (std::string_view one : Urls(url)) {
    if (!out.empty()) out += ',';
    const size_t host = HostStart(one);
    const size_t at = one.find('@', host);
    if (at != std::string_view::npos) {
      out.append(one.substr(0, host)).append("***").append(one.substr(at));
    } else {
      out.append(one);
    }
  }
  return out;
}

std::string WithoutSecrets(std::string text, const BrokerAccess& access) {
  for (std::string_view one : Urls(access.url)) {
    const std::string_view info = UserInfo(one);
    if (info.empty()) continue;
    ReplaceAll(text, info);
    const size_t colon = info.find(':');
    if (colon == std::string_view::npos) continue;  // a token: replaced whole above
    ReplaceAll(text, info.substr(colon + 1));       // the password
    // The user name alone only when it is unlikely to be a word of the
    // message itself ("a", "js").
    if (colon >= 4) ReplaceAll(text, info.substr(0, colon));
  }
  return text;
}

std::string BrokerFilesProblem(const BrokerAccess& access) {
  for (std::string problem : {FileProblem(access.creds_file, "credentials file", "--nats-creds"),
                              FileProblem(access.nkey_file, "NKey seed file", "--nats-nkey"),
                              FileProblem(access.tls_ca_file, "TLS CA file", "--nats-tls-ca"),
                              FileProblem(access.tls_cert_file, "TLS certificate file", "--nats-tls-cert"),
                              FileProblem(access.tls_key_file, "TLS key file", "--nats-tls-key")}) {
    if (!problem.empty()) return problem;
  }
  return "";
}

}  // namespace flow
