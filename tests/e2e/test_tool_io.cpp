// The tool's inputs and outputs (docs/tool.md "Inputs and outputs"), as a user meets them: a FIFO, a
// device and a symlink given as the output keep their kind; an output that is the input is refused;
// an existing file needs -f; `-` reads standard input and writes standard output, so the tool sits in a
// pipe and round-trips byte for byte. On the real stories260K model.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "test_env.hpp"
#include "codec/container_reader.hpp"
#include "container_io.hpp"
#include "files/safetensors.hpp"
#include "tool_run.hpp"

namespace {

using namespace wstest;
namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

const std::string kStories = std::string(WS_DATA_DIR) + "/stories260K.bin";
const std::string kTool = q(std::string(WS_TOOL));

// Runs a shell command line in dir; its exit status.
int sh(const std::string& cmd, const fs::path& dir) {
  const int st = std::system(("cd " + q(dir) + " && (" + cmd + ")").c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
}

// The tool run in dir (relative names are the user's view), output captured as wstest::tool does.
ToolRun run_in(const fs::path& dir, const std::string& args) {
  ToolRun r;
  r.code = sh(kTool + " " + args + " >stdout.txt 2>stderr.txt", dir);
  r.out = text_of(dir / "stdout.txt");
  r.err = text_of(dir / "stderr.txt");
  return r;
}
ToolRun ok_in(const fs::path& dir, const std::string& args) {
  const ToolRun r = run_in(dir, args);
  EXPECT_EQ(r.code, 0) << args << ": " << r.err;
  return r;
}

mode_t kind_of(const fs::path& p) {  // S_IFMT bits of the path itself (a symlink is a symlink)
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0 ? st.st_mode & S_IFMT : 0;
}

TEST(ToolIo, PipesRoundTripByteForByte) {
  const fs::path dir = test_dir();
  const Bytes src = read_file(kStories);
  ASSERT_FALSE(src.empty());
  // compress and decompress, both reading a pipe and writing a pipe; the summaries go to stderr.
  ASSERT_EQ(sh("cat " + q(kStories) + " | " + kTool + " compress - -o - 2>c.err | " + kTool +
                   " decompress - -o - 2>d.err | cat > back.bin",
               dir),
            0);
  EXPECT_EQ(read_file(dir / "back.bin"), src);
  EXPECT_NE(text_of(dir / "c.err").find("-: llama2c, 1056540 bytes -> -: "), std::string::npos) << text_of(dir / "c.err");
  EXPECT_NE(text_of(dir / "d.err").find("-> -: 1056540 bytes (llama2c), every checksum verified"), std::string::npos);
  // The container a pipe carries is the one a file gets.
  ok_in(dir, "compress " + q(kStories) + " -o file.wsz");
  ASSERT_EQ(sh("cat " + q(kStories) + " | " + kTool + " compress - -o - > pipe.wsz 2>/dev/null", dir), 0);
  EXPECT_EQ(read_file(dir / "pipe.wsz"), read_file(dir / "file.wsz"));
  // Standard input that is a regular file (read in place), into a file; and inspect from a pipe.
  ASSERT_EQ(sh(kTool + " decompress - -o redirected.bin < file.wsz >/dev/null", dir), 0);
  EXPECT_EQ(read_file(dir / "redirected.bin"), src);
  ASSERT_EQ(sh("cat file.wsz | " + kTool + " inspect - --json > inspect.json", dir), 0);
  EXPECT_NE(text_of(dir / "inspect.json").find("\"source_bytes\": 1056540"), std::string::npos);
  // convert through pipes gives what convert of the file gives.
  ok_in(dir, "convert --to bf16 " + q(kStories) + " -o file.safetensors");
  ASSERT_EQ(sh("cat " + q(kStories) + " | " + kTool + " convert --to bf16 - -o - 2>/dev/null | cat > pipe.safetensors", dir), 0);
  EXPECT_EQ(read_file(dir / "pipe.safetensors"), read_file(dir / "file.safetensors"));
  // A broken container on standard input fails with one line naming "-".
  ASSERT_EQ(sh("head -c 1000 file.wsz | " + kTool + " decompress - -o cut.bin 2>cut.err", dir), 1);
  EXPECT_EQ(text_of(dir / "cut.err"), "error: -: bad magic at end of file (truncated?)\n");
  EXPECT_FALSE(fs::exists(dir / "cut.bin"));
}

TEST(ToolIo, FifoOutputStaysAFifo) {
  const fs::path dir = test_dir();
  ok_in(dir, "compress " + q(kStories) + " -o s.wsz");
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  // A reader drains the FIFO while the tool writes into it (no -f needed: it is not a regular file).
  // Should the tool fail before opening the FIFO, `: > fifo` releases the reader.
  ASSERT_EQ(sh("cat fifo > drained.bin & reader=$!; " + kTool +
                   " decompress s.wsz -o fifo > /dev/null; st=$?; [ $st = 0 ] || : > fifo; wait $reader; exit $st",
               dir),
            0);
  EXPECT_EQ(kind_of(dir / "fifo"), mode_t(S_IFIFO));
  EXPECT_EQ(read_file(dir / "drained.bin"), read_file(kStories));
  expect_no_leftovers(dir, {"s.wsz", "fifo", "drained.bin"});
}

TEST(ToolIo, DeviceAndSymlinkOutputsKeepTheirKind) {
  const fs::path dir = test_dir();
  ok_in(dir, "compress " + q(kStories) + " -o s.wsz");
  // /dev/null itself (as root the old tool replaced it by a regular file) and through a symlink.
  ASSERT_EQ(kind_of("/dev/null"), mode_t(S_IFCHR));
  ok_in(dir, "decompress s.wsz -o /dev/null");
  EXPECT_EQ(kind_of("/dev/null"), mode_t(S_IFCHR));
  fs::create_symlink("/dev/null", dir / "null-link");
  ok_in(dir, "decompress s.wsz -o null-link");
  EXPECT_EQ(kind_of(dir / "null-link"), mode_t(S_IFLNK));
  EXPECT_EQ(kind_of("/dev/null"), mode_t(S_IFCHR));
  // A symlink to a regular file: the file is replaced (with -f), the link stays a link to it.
  write_file(dir / "target.bin", {1, 2, 3});
  fs::create_symlink("target.bin", dir / "link.bin");
  expect_error(run_in(dir, "decompress s.wsz -o link.bin"), "link.bin", "already exists (use -f to overwrite it)");
  EXPECT_EQ(read_file(dir / "target.bin"), Bytes({1, 2, 3}));
  ok_in(dir, "decompress -f s.wsz -o link.bin");
  EXPECT_EQ(kind_of(dir / "link.bin"), mode_t(S_IFLNK));
  EXPECT_EQ(fs::read_symlink(dir / "link.bin"), fs::path("target.bin"));
  EXPECT_EQ(read_file(dir / "target.bin"), read_file(kStories));
  // A dangling symlink: its target is created, the link kept.
  fs::create_symlink("new.bin", dir / "dangling.bin");
  ok_in(dir, "decompress s.wsz -o dangling.bin");
  EXPECT_EQ(kind_of(dir / "dangling.bin"), mode_t(S_IFLNK));
  EXPECT_EQ(read_file(dir / "new.bin"), read_file(kStories));
  expect_no_leftovers(dir, {"s.wsz", "null-link", "target.bin", "link.bin", "dangling.bin", "new.bin"});
}

TEST(ToolIo, OutputThatIsTheInputIsRefused) {
  const fs::path dir = test_dir();
  fs::copy_file(kStories, dir / "x.bin");
  const Bytes src = read_file(dir / "x.bin");
  // Directly, with -f, and through a symlink: never replaced.
  expect_error(run_in(dir, "compress x.bin -o x.bin"), "x.bin", "is the input file: refusing to overwrite it");
  expect_error(run_in(dir, "compress -f x.bin -o x.bin"), "x.bin", "is the input file");
  fs::create_symlink("x.bin", dir / "alias.bin");
  expect_error(run_in(dir, "compress -f x.bin -o alias.bin"), "alias.bin", "is the input file");
  expect_error(run_in(dir, "convert -f --to bf16 x.bin -o alias.bin"), "alias.bin", "is the input file");
  ok_in(dir, "compress x.bin -o x.wsz");
  expect_error(run_in(dir, "decompress -f x.wsz -o x.wsz"), "x.wsz", "is the input file");
  EXPECT_EQ(read_file(dir / "x.bin"), src);
  // Standard input redirected from the output file.
  ASSERT_EQ(sh(kTool + " decompress -f - -o x.wsz < x.wsz 2>self.err", dir), 1);
  EXPECT_EQ(text_of(dir / "self.err"), "error: x.wsz: is the input file (standard input): refusing to overwrite it\n");
  // An existing output without -f: refused and untouched; with -f: replaced.
  write_file(dir / "old.wsz", {9});
  expect_error(run_in(dir, "compress x.bin -o old.wsz"), "old.wsz", "already exists (use -f to overwrite it)");
  EXPECT_EQ(read_file(dir / "old.wsz"), Bytes({9}));
  ok_in(dir, "compress -f x.bin -o old.wsz");
  EXPECT_EQ(read_file(dir / "old.wsz"), read_file(dir / "x.wsz"));
  // A directory as the output.
  fs::create_directory(dir / "d");
  expect_error(run_in(dir, "compress x.bin -o d"), "d", "is a directory");
  expect_no_leftovers(dir, {"x.bin", "alias.bin", "x.wsz", "self.err", "old.wsz", "d"});
}

}  // namespace

namespace {

// A tensor name that is not UTF-8 (a container whose index was edited, the index checksum fixed):
// one clean line from every command, text and JSON alike. And one with terminal escapes: printed
// escaped by text inspect, as JSON escapes by --json.
TEST(ToolIo, TensorNamesMustBeUtf8AndArePrintedEscaped) {
  const fs::path dir = test_dir();
  fs::copy_file(kStories, dir / "s.bin");
  ok_in(dir, "compress s.bin -o s.wsz");
  const Bytes wsz = read_file(dir / "s.wsz");
  auto renamed = [&](const std::string& from, const std::string& to) {
    return wstest::with_index(wsz, [&](ws::Index& ix) {
      for (auto& seg : ix.segments)
        if (seg.name == from) seg.name = to;
    });
  };
  write_file(dir / "bad.wsz", renamed("wq", std::string("w\xff\xfe", 3)));  // same length, not UTF-8
  const std::string want = "the name of tensor 'w\xff\xfe' (segment 3) is not UTF-8";
  expect_error(run_in(dir, "decompress bad.wsz -o out.bin"), "bad.wsz", want);
  expect_error(run_in(dir, "inspect bad.wsz"), "bad.wsz", want);
  expect_error(run_in(dir, "inspect --json bad.wsz"), "bad.wsz", want);
  expect_error(run_in(dir, "convert --to bf16 bad.wsz -o out.safetensors"), "bad.wsz", "neither safetensors");
  EXPECT_FALSE(fs::exists(dir / "out.bin"));

  // (Renaming a tensor in a version-2 index also breaks its chunks' checksums, which bind the name.)
  write_file(dir / "renamed.wsz", renamed("wq", "wz"));
  expect_error(run_in(dir, "decompress renamed.wsz -o out.bin"), "renamed.wsz", "tensor 'wz' chunk 0: checksum mismatch");

  // A safetensors tensor named "ESC [2J" (clear the screen), compressed for real.
  Bytes st = ws::make_safetensors_header({}, {{"\x1b[2J", "BF16", {2, 4}}});
  for (int i = 0; i < 8; ++i) st.insert(st.end(), {uint8_t(i), 0x3f});
  write_file(dir / "esc.safetensors", st);
  ok_in(dir, "compress esc.safetensors -o esc.wsz");
  const ToolRun text = ok_in(dir, "inspect esc.wsz");
  EXPECT_EQ(text.out.find('\x1b'), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("\\x1b[2J"), std::string::npos) << text.out;
  const ToolRun js = ok_in(dir, "inspect --json esc.wsz");
  EXPECT_EQ(js.out.find('\x1b'), std::string::npos);  // JSON escapes it as \u001b
  EXPECT_EQ(nlohmann::json::parse(js.out)["tensors"][0]["name"], "\x1b[2J");
}

}  // namespace
