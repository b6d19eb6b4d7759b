// The fuzz targets' entry functions, shared by the libFuzzer binaries
// (built with clang-14 under ONESTOP_FUZZ=ON) and the always-built corpus
// replay test (tests/fuzz/corpus_replay_test.cc), so every input a fuzzer
// ever found interesting, or crashing, is a plain regression test too.
//
// Each function feeds arbitrary bytes to one parser or rule engine and
// checks properties that must hold for any input. It returns "" when they
// hold, else a description of the violation; the libFuzzer wrappers abort
// on a non-empty result. Crashes, sanitizer reports and hangs are failures
// by themselves.
//
// Thread safety: each function may be called from one thread at a time
// (libFuzzer and the replay test are single-threaded); they share lazily
// built constant fixtures.
#ifndef ONESTOP_TESTS_FUZZ_FUZZ_ENTRIES_H_
#define ONESTOP_TESTS_FUZZ_FUZZ_ENTRIES_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace onestop::fuzz {

// Input layout: byte 0 action kind, byte 1 decision outcome, byte 2 return
// mode, bytes 3–4 a signed offset in hours for a reschedule's new due time,
// then a serialized onestop.v1.SubmitDossierRequest. The request goes to
// core::PrepareSubmission; an Action built from the header plus the
// request's fields (note = summary, missing items = document names,
// documents, target agency = receiving agency) goes to core::ApplyAction
// over a dossier in each reachable status. Properties: a successful
// submission has history sequence 1 and a code prefix; a successful
// transition appends exactly the entry it returns, with sequence n + 1,
// from_status = the old status and to_status = the new status; a failure
// carries a message.
std::string FuzzSubmitAndAction(absl::string_view data);

// The bytes as a configuration file, through config::LoadConfigText.
// Properties: success yields a catalogue; an error is INVALID_ARGUMENT
// whose message starts with the file name.
std::string FuzzConfig(absl::string_view data);

// The first byte splits the rest into a query fingerprint and a token for
// core::DecodePageToken. Properties: a decoded position is > 0 and the
// token does not decode for another fingerprint; Encode/Decode round-trip
// for a position derived from the bytes.
std::string FuzzPageToken(absl::string_view data);

// For the replay test: how many base dossiers FuzzSubmitAndAction uses
// (one per reachable status; fewer means the fixture broke).
int SubmitActionBaseCount();

}  // namespace onestop::fuzz

#endif  // ONESTOP_TESTS_FUZZ_FUZZ_ENTRIES_H_
