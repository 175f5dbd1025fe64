// A NATS user NKey seed file, for `--nats-nkey FILE` (issue 8): what
// libnats needs besides the file to connect with it. libnats signs the
// server's nonce with the seed it reads from the file itself, but wants the
// user's public key too (natsOptions_SetNKeyFromSeed), which a seed file
// does not hold: it is derived here, as the NATS tools do, so that a user
// gives one file, as with `nats --nkey`.
//
// The encoding (NATS's nkeys): base32 without padding of a prefix, the raw
// key, and a CRC-16 (XMODEM) of both, little-endian. A user seed is "SU..."
// (two prefix bytes, then the 32-byte Ed25519 seed); its public key "U..."
// (one prefix byte, then the 32-byte Ed25519 public key).
#pragma once

#include <string>

namespace flow {

// The public key ("U...") of the user seed in `text`: its first word that
// starts with "SU" (a file from `nk -gen user`, or one with comments). ""
// with `*error` when there is none, or it does not decode, or its checksum
// is wrong. Never puts the seed in `*error`.
std::string NKeyUserPublicKey(const std::string& text, std::string* error);

// The same for the file at `path`, whose name (never its contents) `*error`
// gives.
std::string NKeyUserPublicKeyOfFile(const std::string& path, std::string* error);

}  // namespace flow
