// onestopctl admin token create|list|revoke and admin audit
// (SecurityService, admin only), and lookup CODE LAST4 (CitizenService, the
// citizens' question "where is my dossier?", no token needed).
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/commands/args.h"
#include "client/commands/commands.h"

namespace onestop::client {
namespace {

struct CreateTokenArgs {
  std::string principal;
  std::vector<std::string> grants;
  std::vector<std::string> service_writes;
  std::string ttl;
  std::string label;
};

absl::Status CreateToken(CommandContext& ctx, const CreateTokenArgs& args) {
  v1::CreateTokenRequest request;
  v1::Principal& principal = *request.mutable_principal();
  principal.set_id(args.principal);
  for (const std::string& text : args.grants) {
    absl::StatusOr<v1::Grant> grant = ParseGrant(text);
    if (!grant.ok()) return grant.status();
    *principal.add_grants() = *std::move(grant);
  }
  for (const std::string& write : args.service_writes) {
    principal.add_service_writes(write);
  }
  if (!args.ttl.empty()) {
    absl::StatusOr<int64_t> ttl = ParseTtlSeconds(args.ttl);
    if (!ttl.ok()) return ttl.status();
    request.set_ttl_seconds(*ttl);
  }
  request.set_label(args.label);
  v1::CreateTokenResponse response;
  std::unique_ptr<grpc::ClientContext> rpc = ctx.NewRpc();
  const grpc::Status status = ctx.security().CreateToken(rpc.get(), request, &response);
  if (!status.ok()) return ctx.FromRpc(status);
  return ctx.printer().PrintNewToken(response);
}

struct AuditArgs {
  std::string principal;
  bool denials = false;
  int64_t after = 0;
  int limit = 0;
};

absl::Status ListAudit(CommandContext& ctx, const AuditArgs& args) {
  v1::ListAuditRequest request;
  request.set_principal_id(args.principal);
  request.set_denials_only(args.denials);
  request.set_after_sequence(args.after);
  request.set_page_size(args.limit);
  v1::ListAuditResponse response;
  std::unique_ptr<grpc::ClientContext> rpc = ctx.NewRpc();
  const grpc::Status status = ctx.security().ListAudit(rpc.get(), request, &response);
  if (!status.ok()) return ctx.FromRpc(status);
  return ctx.printer().PrintAudit(response);
}

void RegisterToken(CLI::App& admin, CommandRegistry& registry) {
  CLI::App* token = admin.add_subcommand(
      "token", "Create, list and revoke bearer tokens (admin only)");
  token->require_subcommand(1);

  auto create_args = std::make_shared<CreateTokenArgs>();
  CLI::App* create = token->add_subcommand(
      "create", "Issue a bearer token; its secret is printed once, never again");
  create->footer(
      "Roles: clerk, officer, supervisor, service, admin; each grant covers the "
      "agency\nand every agency below it. You can only grant within your own "
      "admin agencies.\n"
      "Examples:\n"
      "  onestopctl admin token create --principal clerk.lienson "
      "--grant clerk:000.31.01.H15 \\\n"
      "      --label \"Bộ phận một cửa xã Liên Sơn\" --ttl 90d\n"
      "  onestopctl admin token create --principal portal-sync "
      "--grant service:000.00.00.H15 \\\n"
      "      --service-write submit_dossier --service-write return_result "
      "--ttl 30d\n"
      "Store the secret at once (e.g. in a file only you can read) and use it "
      "with\n--token-file=FILE or ONESTOP_TOKEN.");
  create->add_option("--principal", create_args->principal,
                     "Who the token stands for, e.g. clerk.lienson (printable "
                     "ASCII, no spaces)")
      ->required();
  create->add_option("--grant", create_args->grants,
                     "ROLE:AGENCY, repeatable, at least one "
                     "(e.g. officer:000.00.31.H15)")
      ->required()
      ->check(ValidatorFrom<v1::Grant>(ParseGrant, "ROLE:AGENCY"));
  create->add_option("--service-write", create_args->service_writes,
                     "For service grants: a dossier write the program may make, "
                     "by permission name (submit_dossier, return_result, …); "
                     "repeatable");
  create->add_option("--ttl", create_args->ttl,
                     "Lifetime, e.g. 90d, 12h, 30m (default: the daemon's, "
                     "90d; at most 366d)")
      ->check(ValidatorFrom<int64_t>(ParseTtlSeconds, "DURATION"));
  create->add_option("--label", create_args->label,
                     "Free text shown in listings (who holds it, where)");
  registry.Add(create, [create_args](CommandContext& ctx) {
    return CreateToken(ctx, *create_args);
  });

  auto all = std::make_shared<bool>(false);
  CLI::App* list = token->add_subcommand(
      "list", "List tokens, newest first (ids, principals, expiry; never secrets)");
  list->footer(
      "Examples:\n"
      "  onestopctl admin token list\n"
      "  onestopctl admin token list --all --output=json");
  list->add_flag("--all", *all, "Also list expired and revoked tokens");
  registry.Add(list, [all](CommandContext& ctx) -> absl::Status {
    v1::ListTokensRequest request;
    request.set_include_inactive(*all);
    v1::ListTokensResponse response;
    std::unique_ptr<grpc::ClientContext> rpc = ctx.NewRpc();
    const grpc::Status status = ctx.security().ListTokens(rpc.get(), request, &response);
    if (!status.ok()) return ctx.FromRpc(status);
    return ctx.printer().PrintTokens(response.tokens());
  });

  auto token_id = std::make_shared<std::string>();
  CLI::App* revoke = token->add_subcommand(
      "revoke", "Revoke a token: the next call presenting it is refused");
  revoke->footer(
      "Revoking a revoked token succeeds and keeps the first revocation time.\n"
      "Example:\n  onestopctl admin token revoke tk_3f9a0c1b2d4e");
  revoke->add_option("TOKEN_ID", *token_id, "Token id (tk_…) from `admin token list`")
      ->required();
  registry.Add(revoke, [token_id](CommandContext& ctx) -> absl::Status {
    v1::RevokeTokenRequest request;
    request.set_token_id(*token_id);
    v1::RevokeTokenResponse response;
    std::unique_ptr<grpc::ClientContext> rpc = ctx.NewRpc();
    const grpc::Status status = ctx.security().RevokeToken(rpc.get(), request, &response);
    if (!status.ok()) return ctx.FromRpc(status);
    google::protobuf::RepeatedPtrField<v1::TokenInfo> revoked;
    *revoked.Add() = response.token();
    return ctx.printer().PrintTokens(revoked);
  });
}

void RegisterAudit(CLI::App& admin, CommandRegistry& registry) {
  auto args = std::make_shared<AuditArgs>();
  CLI::App* audit = admin.add_subcommand(
      "audit",
      "Read the audit log: every mutating call and every denial, oldest first "
      "(an admin of a top-level agency only)");
  audit->footer(
      "RESULT is the gRPC code of the answer; PRINCIPAL \"(none)\" is a call "
      "without valid\ncredentials. A full page ends with the --after value of "
      "the next one.\n"
      "Examples:\n"
      "  onestopctl admin audit --denials\n"
      "  onestopctl admin audit --principal clerk.lienson --after 1200 --limit 50\n"
      "  onestopctl admin audit --output=json    # one record per line");
  audit->add_option("--principal", args->principal, "Only this principal's records");
  audit->add_flag("--denials", args->denials,
                  "Only denials (PERMISSION_DENIED, UNAUTHENTICATED)");
  audit->add_option("--after", args->after,
                    "Only records with a sequence number above N")
      ->check(CLI::NonNegativeNumber);
  audit->add_option("--limit", args->limit, "Records per page, 1–1000 (default 100)")
      ->check(CLI::Range(1, 1000));
  registry.Add(audit, [args](CommandContext& ctx) { return ListAudit(ctx, *args); });
}

}  // namespace

void RegisterAdminSecurity(CLI::App& admin, CommandRegistry& registry) {
  RegisterToken(admin, registry);
  RegisterAudit(admin, registry);
}

void RegisterLookup(CLI::App& app, CommandRegistry& registry) {
  auto code = std::make_shared<std::string>();
  auto last_four = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "lookup",
      "A citizen's question: a dossier's status and appointment, given its "
      "code and the last four digits of the applicant's phone or ID number");
  cmd->footer(
      "Needs no token (one is sent if given). A wrong pair answers NOT_FOUND, "
      "like an\nunknown code; too many lookups from one address answer "
      "RESOURCE_EXHAUSTED.\n"
      "Example:\n  onestopctl lookup 000.00.31.H15-200106-0001 5678");
  cmd->add_option("CODE", *code, "Dossier code (mã hồ sơ) from the receipt")->required();
  cmd->add_option("LAST4", *last_four, "Last four digits of the phone or ID number")
      ->required()
      ->check(ValidatorFrom<std::string>(ParseLastFour, "DIGITS"));
  registry.Add(cmd, [code, last_four](CommandContext& ctx) -> absl::Status {
    v1::LookupDossierRequest request;
    request.set_code(*code);
    request.set_last_four(*last_four);
    v1::LookupDossierResponse response;
    std::unique_ptr<grpc::ClientContext> rpc = ctx.NewRpc();
    const grpc::Status status = ctx.citizen().LookupDossier(rpc.get(), request, &response);
    if (!status.ok()) return ctx.FromRpc(status);
    return ctx.printer().PrintLookup(response);
  });
}

}  // namespace onestop::client
