// Parameters of one token-factory run (docs/token_factory.md lists them with their defaults).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wsim {

// What travels from DRAM: bf16 as is, the model's .wsz chunks, or the 2:4-pruned model's .wsz chunks.
enum class Mode { Raw, Compressed, Sparse };
const char* mode_name(Mode m);            // "raw", "compressed", "sparse"
Mode parse_mode(const std::string& s);    // throws std::invalid_argument

// What a token's attention reads and writes each step through its processor's DRAM port: the KV cache
// (every cached position read, the new one written: grows with the context) or DiJiang's state (a
// fixed [layers][heads][d][d] matrix read and written whole, whatever the context; docs/dijiang.md).
enum class Attention { Kv, DiJiang };
const char* attention_name(Attention a);          // "kv", "dijiang"
Attention parse_attention(const std::string& s);  // throws std::invalid_argument

// Which model of the tANS decoder sets the decode timing.
enum class Engine { Functional, CycleModel, Rtl };
const char* engine_name(Engine e);        // "functional", "cycle", "rtl"
Engine parse_engine(const std::string& s);

struct Config {
  std::string model;           // .wsz, llama2.c .bin or safetensors
  std::string pruned;          // Mode::Sparse: a model pruned by `weightstream prune` (or its .wsz); else `model` is pruned
  std::string skip = "^freq_cis";  // tensors not streamed per token (RoPE tables are computed)
  uint64_t chunk_values = 0;   // values per chunk when compressing a non-.wsz model; 0 = the tool's default
  // A sample of the pass: only the chunks that lie wholly in these transformer layers, and only their
  // KV cache (docs/token_factory.md section 3); empty: the whole model.
  std::vector<int> layers;
  // LTE: the routers' decisions (`weightstream eval --lte-dump`); the model must then be a .wsz with
  // expert chunks (`compress --lte`), and each pass fetches the union of its N tokens' active experts.
  std::string lte_decisions;
  Mode mode = Mode::Compressed;
  Engine engine = Engine::Functional;

  int processors = 1;          // N
  int tokens = 9;              // tokens per processor = passes over the weights (steady state: 3..P-1)

  // DRAM channel.
  double dram_gbps = 3.2;      // 1e9 bytes/s
  double dram_latency_ns = 100;
  int burst_bytes = 64;        // largest read request; requests split at burst-aligned addresses
  int outstanding = 16;        // requests in flight per DRAM port (fetcher, each KV port)
  int kv_burst_bytes = 0;      // largest request of a KV port (its cache or state is contiguous); 0: burst_bytes
  double mem_mhz = 200;        // fetcher clock: one request issued per cycle at most

  // Decompression and broadcast (one clock).
  double dec_mhz = 250;
  int lanes = 4;               // symbols per decoder per cycle (functional engine)
  int decoders = 2;            // decoder instances working on different chunks
  int bus_values = 16;         // stream values per bus beat, one beat per decoder clock
  int dec_fifo_beats = 0;      // per-decoder output buffer; 0 = enough for the largest chunk

  // Processors.
  double proc_mhz = 250;
  int array = 16;              // multipliers: stream values consumed per processor cycle
  int fifo_beats = 32;         // per-processor input FIFO
  int context = 128;           // KV-cache positions each token reads (0: weights only)
  Attention attention = Attention::Kv;
  int state_bytes_per_value = 4;   // DiJiang: the state's element width (4: fp32, 2: bf16)
  uint64_t state_sram_bytes = 0;   // DiJiang: a processor's on-chip SRAM; a state that fits stays there (no DRAM traffic)
  double stall_prob = 0;       // random backpressure: chance a beat stalls its processor
  int stall_max = 16;          // ... for 1..stall_max cycles
  uint64_t seed = 1;

  uint64_t inbuf_bytes = 0;    // fetched-chunk buffer; 0 = (2 x decoders + 1) x largest chunk
  bool log_reads = false;      // keep every DRAM request (for the tests)
  int64_t fault_beat = -1;     // flip a bit of this bus beat's first value and position on its way to processor 0 (tests the checks)

  int kv_burst() const;        // a KV port's largest request
  void validate() const;       // throws std::invalid_argument
};

}  // namespace wsim
