// The onestopctl commands. Each Register… adds its subcommands, with
// --help text and a worked example, to `app` and their actions to
// `registry`. Option values live in state owned by the actions.
#ifndef ONESTOP_CLIENT_COMMANDS_COMMANDS_H_
#define ONESTOP_CLIENT_COMMANDS_COMMANDS_H_

#include "CLI/CLI.hpp"
#include "client/commands/command_context.h"

namespace onestop::client {

// submit
void RegisterSubmit(CLI::App& app, CommandRegistry& registry);
// show
void RegisterShow(CLI::App& app, CommandRegistry& registry);
// list
void RegisterList(CLI::App& app, CommandRegistry& registry);
// accept, request-supplement, supply, refuse, hand-over, decide, ready,
// return, withdraw, stop, request-payment, confirm-payment, reschedule
void RegisterLifecycle(CLI::App& app, CommandRegistry& registry);
// agencies, procedures
void RegisterCatalogue(CLI::App& app, CommandRegistry& registry);
// calendar YEAR [--to YEAR]
void RegisterCalendar(CLI::App& app, CommandRegistry& registry);
// admin clock show|set|advance|reset, admin reload, admin backup, and
// (through RegisterAdminSecurity) admin token …, admin audit
void RegisterAdmin(CLI::App& app, CommandRegistry& registry);
// admin token create|list|revoke, admin audit: added under `admin`, the
// `admin` subcommand (called by RegisterAdmin).
void RegisterAdminSecurity(CLI::App& admin, CommandRegistry& registry);
// admin migrate --from FILE.db --to postgresql://… (migrate.cc; called by
// RegisterAdmin).
void RegisterAdminMigrate(CLI::App& admin, CommandRegistry& registry);
// admin import FILE.jsonl [--batch N] (import.cc; called by RegisterAdmin).
void RegisterAdminImport(CLI::App& admin, CommandRegistry& registry);
// lookup CODE LAST4 (CitizenService)
void RegisterLookup(CLI::App& app, CommandRegistry& registry);
// `watch`: follows the change feed (FeedService.WatchEvents).
void RegisterWatchCommand(CLI::App& app, CommandRegistry& registry);
// `attach CODE --type TYPE FILE` and `fetch CODE ID --out FILE`: digitised
// components (DocumentService).
void RegisterDocuments(CLI::App& app, CommandRegistry& registry);
// `report`: completion and on-time reports (ReportService).
void RegisterReportCommand(CLI::App& app, CommandRegistry& registry);

}  // namespace onestop::client

#endif  // ONESTOP_CLIENT_COMMANDS_COMMANDS_H_
