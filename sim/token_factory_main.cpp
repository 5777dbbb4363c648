// token_factory: size a token factory (N processors sharing one decompressed weight stream) on a
// real model. Prints the simulated throughput and DRAM traffic beside the analytical roofline.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <systemc>

#include "src/token_factory.hpp"

int sc_main(int argc, char* argv[]) {
  wsim::Config c;
  std::string mode = "compressed", engine = "functional", attention = "kv", json_path;
  CLI::App app{"SystemC/TLM-2.0 model of the weightstream token factory (docs/token_factory.md)"};
  app.add_option("model", c.model, "model: .wsz of bf16 tensors, llama2.c .bin or safetensors")->required();
  app.add_option("-n,--processors", c.processors, "processors N")->capture_default_str();
  app.add_option("--mode", mode, "raw | compressed | sparse")->capture_default_str();
  app.add_option("--engine", engine, "decoder model: functional | cycle | rtl")->capture_default_str();
  app.add_option("--pruned", c.pruned,
                 "--mode sparse: a model pruned by `weightstream prune`, or its .wsz; default: MODEL (not a .wsz) "
                 "pruned as `weightstream prune --method esparse --shuffle global+local`");
  app.add_option("--skip", c.skip, "regex of tensors not streamed per token")->capture_default_str();
  app.add_option("--chunk", c.chunk_values, "values per chunk when compressing a model that is not a .wsz (0: tool default)")
      ->capture_default_str();
  app.add_option("--layers", c.layers,
                 "stream only these transformer layers (e.g. 15 or 0,15,29) and their KV cache; the whole "
                 "model's roofline is reported beside")
      ->delimiter(',');
  app.add_option("--lte-decisions", c.lte_decisions,
                 "LTE: the routers' decisions (`weightstream eval --lte-dump`); MODEL a .wsz of `compress --lte`; "
                 "a pass fetches the union of its N tokens' active experts")
      ->check(CLI::ExistingFile);
  app.add_option("--tokens", c.tokens, "tokens per processor (passes over the weights)")->capture_default_str();
  app.add_option("--dram-gbps", c.dram_gbps, "DRAM bandwidth, GB/s")->capture_default_str();
  app.add_option("--dram-latency-ns", c.dram_latency_ns, "DRAM access latency, ns")->capture_default_str();
  app.add_option("--burst", c.burst_bytes, "largest DRAM request, bytes")->capture_default_str();
  app.add_option("--outstanding", c.outstanding, "weight reads in flight")->capture_default_str();
  app.add_option("--kv-burst", c.kv_burst_bytes, "largest request of a KV port, bytes (0: --burst)")->capture_default_str();
  app.add_option("--mem-mhz", c.mem_mhz, "fetcher clock (one request per clock), MHz")->capture_default_str();
  app.add_option("--dec-mhz", c.dec_mhz, "decoder and bus clock, MHz")->capture_default_str();
  app.add_option("--lanes", c.lanes, "symbols per decoder per clock (functional; cycle and rtl: the chunks' lanes)")
      ->capture_default_str();
  app.add_option("--decoders", c.decoders, "decoder instances")->capture_default_str();
  app.add_option("--bus-values", c.bus_values, "values per bus beat (1..64)")->capture_default_str();
  app.add_option("--proc-mhz", c.proc_mhz, "processor clock, MHz")->capture_default_str();
  app.add_option("--array", c.array, "multipliers per processor (values per clock)")->capture_default_str();
  app.add_option("--inbuf", c.inbuf_bytes, "fetched-chunk buffer, bytes (0: 2 x decoders + 1 largest chunks)")
      ->capture_default_str();
  app.add_option("--fifo", c.fifo_beats, "processor FIFO depth, beats")->capture_default_str();
  app.add_option("--context", c.context, "KV-cache positions read per token (0: weights only)")->capture_default_str();
  app.add_option("--attention", attention,
                 "a token's attention traffic: kv (its KV cache, grows with --context) or dijiang (DiJiang's fixed "
                 "[layers][heads][d][d] state, read and written whole every token)")
      ->capture_default_str();
  app.add_option("--state-bytes-per-value", c.state_bytes_per_value, "DiJiang: the state's element width, 4 (fp32) or 2 (bf16)")
      ->capture_default_str();
  app.add_option("--state-sram", c.state_sram_bytes,
                 "DiJiang: a processor's on-chip SRAM, bytes; a state that fits stays there (no DRAM traffic; 0: none)")
      ->capture_default_str();
  app.add_option("--stall-prob", c.stall_prob, "random processor backpressure per beat")->capture_default_str();
  app.add_option("--stall-max", c.stall_max, "longest random stall, clocks")->capture_default_str();
  app.add_option("--seed", c.seed, "seed of the random stalls")->capture_default_str();
  app.add_option("--json", json_path, "write the report as JSON to this file");
  CLI11_PARSE(app, argc, argv);

  try {
    c.mode = wsim::parse_mode(mode);
    c.engine = wsim::parse_engine(engine);
    c.attention = wsim::parse_attention(attention);
    c.validate();
    const wsim::Workload w = wsim::load_workload(c);
    const wsim::Report r = wsim::run_token_factory(c, w);
    const auto& f = r.roof;
    std::printf("model %s, mode %s, engine %s, N = %d, %d tokens each\n", c.model.c_str(), mode.c_str(),
                engine.c_str(), c.processors, c.tokens);
    if (c.attention == wsim::Attention::DiJiang)
      std::printf("attention: DiJiang state of %d heads x %d x %d values of %d bytes a layer, %s\n", w.heads, w.head_size,
                  w.head_size, c.state_bytes_per_value,
                  r.state_on_chip ? "on chip (no DRAM traffic)" : "read and written through the KV port every token");
    std::printf("pass: %llu chunks, %llu weights, %llu values on the bus, %llu DRAM bytes (%.3f:1 vs bf16); "
                "KV port per token %llu B read, %llu B written\n",
                (unsigned long long)r.chunks, (unsigned long long)r.dense_values,
                (unsigned long long)r.stream_values, (unsigned long long)r.stream_bytes, r.compression,
                (unsigned long long)r.kv_read_per_token, (unsigned long long)r.kv_write_per_token);
    std::printf("roofline per pass (us): dram %.2f  fetch %.2f  decoder %.2f  bus %.2f  processor %.2f  -> %s-bound\n",
                f.dram * 1e6, f.fetch * 1e6, f.decoder * 1e6, f.bus * 1e6, f.proc * 1e6, f.bound.c_str());
    std::printf("%-22s %14s %14s\n", "", "simulated", "roofline");
    std::printf("%-22s %14.1f %14.1f   (%+.2f%%)\n", "tokens/s", r.tokens_per_s, f.tokens_per_s,
                100 * (r.tokens_per_s / f.tokens_per_s - 1));
    std::printf("%-22s %14.1f %14.1f\n", "DRAM bytes/token", r.dram_bytes_per_token, f.dram_bytes_per_token);
    if (!c.layers.empty()) {
      const auto& m = r.model;
      std::printf("sampled %zu of %d layers; the whole model: %llu chunks, %llu weights, %llu DRAM bytes per pass, "
                  "KV port per token %llu B read, %llu B written\n",
                  c.layers.size(), m.layers, (unsigned long long)m.chunks, (unsigned long long)m.dense_values,
                  (unsigned long long)m.stream_bytes, (unsigned long long)m.kv_read_per_token,
                  (unsigned long long)m.kv_write_per_token);
      std::printf("whole model roofline per pass (us): dram %.2f  fetch %.2f  decoder %.2f  bus %.2f  processor %.2f"
                  "  -> %s-bound\n",
                  m.roof.dram * 1e6, m.roof.fetch * 1e6, m.roof.decoder * 1e6, m.roof.bus * 1e6, m.roof.proc * 1e6,
                  m.roof.bound.c_str());
      std::printf("whole model tokens/s %.2f (roofline %.2f x the sample's sim/roofline), DRAM bytes/token %.1f\n",
                  m.tokens_per_s, m.roof.tokens_per_s, m.roof.dram_bytes_per_token);
    }
    std::printf("tokens/s incl. pipeline fill %.1f; DRAM busy %.1f%%; bus waited %llu clocks on full FIFOs\n",
                r.tokens_per_s_total, 100 * r.dram_busy, (unsigned long long)r.bus_full_cycles);
    std::printf("simulated %.3f ms in %.2f s host: %.3g decoder clocks per host second\n", r.sim_s * 1e3,
                r.host_s, r.dec_cycles_per_host_s);
    if (r.symbols_checked)
      std::printf("decoder symbols checked against the functional decode: %llu, mismatches %llu\n",
                  (unsigned long long)r.symbols_checked, (unsigned long long)r.symbol_mismatches);
    if (r.errors()) {
      for (size_t i = 0; i < r.processors.size(); ++i)
        if (r.processors[i].errors)
          std::fprintf(stderr, "error: processor %zu: %llu errors, first: %s\n", i,
                       (unsigned long long)r.processors[i].errors, r.processors[i].first_error.c_str());
    }
    if (!json_path.empty()) {
      std::ofstream(json_path) << wsim::to_json(r).dump(1) << "\n";
    }
    return r.errors() ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
}
