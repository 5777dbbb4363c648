// `weightstream numfmt`: its options, and the call into ops/numfmt_show.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "ops/numfmt_show.hpp"
#include "tool/cli.hpp"

namespace cli {

void add_numfmt_command(CLI::App& app) {
  auto a = std::make_shared<ws::NumfmtShowOptions>();
  CLI::App* cmd = app.add_subcommand("numfmt", "split numbers into class symbol and raw bits under a number format");
  cmd->add_option("--format", a->format,
                  "bf16, fp16, fp32, e4m3, e5m2, int8, int4, posit8, posit16, posit<n>_<es>, or a .json table")
      ->required();
  cmd->add_option("--decode", a->decode, "stored bit patterns (hex) to show");
  cmd->add_option("--encode", a->encode, "values (read as fp32) to encode");
  cmd->add_flag("--round", a->round, "round values the format cannot hold (nearest, ties to even)");
  cmd->add_flag("--table", a->table, "print the format table");
  cmd->add_flag("--json", a->json, "print the format as JSON");
  cmd->callback([a] {
    try {
      ws::show_number_format(*a, stdout);
    } catch (const CLI::Error&) {
      throw;
    } catch (const std::exception& e) {
      fail_callback(std::string("numfmt: ") + e.what());
    }
  });
}

}  // namespace cli
