#include "hw/error_text.hpp"

namespace ws {

const char* error_text(pkg::tans_err_e e) {
  switch (e) {
    case pkg::TANS_ERR_NONE: return "none";
    case pkg::TANS_ERR_ENDS_EARLY: return "stream ends early";
    case pkg::TANS_ERR_LEFT_OVER: return "bits left over";
    case pkg::TANS_ERR_FINAL_STATE: return "final state wrong";
    case pkg::TANS_ERR_NO_TABLE: return "table not loaded";
    case pkg::TANS_ERR_BAD_DESC: return "bad descriptor";
    case pkg::TANS_ERR_BAD_ENTRY: return "bad table entry";
  }
  return "?";
}

const char* error_text(pkg::unp_err_e e) {
  switch (e) {
    case pkg::UNP_ERR_NONE: return "none";
    case pkg::UNP_ERR_RUNS_OUT: return "raw stream runs out";
    case pkg::UNP_ERR_UNKNOWN: return "unknown symbol";
    case pkg::UNP_ERR_LEFT_OVER: return "raw bits left over";
    case pkg::UNP_ERR_BAD_CFG: return "bad configuration";
  }
  return "?";
}

const char* error_text(pkg::mac_err_e e) {
  switch (e) {
    case pkg::MAC_ERR_NONE: return "none";
    case pkg::MAC_ERR_META: return "bad metadata nibble";
    case pkg::MAC_ERR_FRAME: return "w_last inside a row";
    case pkg::MAC_ERR_CONFIG: return "bad configuration";
    case pkg::MAC_ERR_ACT: return "activation overflow";
  }
  return "?";
}

const char* error_text(pkg::wp_err_e e) {
  switch (e) {
    case pkg::WP_ERR_NONE: return "none";
    case pkg::WP_ERR_VALUE_PARTIAL: return "partial value beat";
    case pkg::WP_ERR_META_PARTIAL: return "partial metadata beat";
    case pkg::WP_ERR_CHUNK_ENDS: return "value and metadata chunks end on different beats";
    case pkg::WP_ERR_LAYER_END: return "layer ends inside a chunk";
    case pkg::WP_ERR_META_SYMBOL: return "metadata symbol above 15";
    case pkg::WP_ERR_CONFIG: return "bad configuration write";
  }
  return "?";
}

const char* error_text(pkg::wp_block_e b) {
  switch (b) {
    case pkg::WP_BLK_NONE: return "none";
    case pkg::WP_BLK_TOP: return "top";
    case pkg::WP_BLK_VALUE_DEC: return "value decoder";
    case pkg::WP_BLK_META_DEC: return "metadata decoder";
    case pkg::WP_BLK_UNPACKER: return "number unpacker";
    case pkg::WP_BLK_MAC: return "MAC array";
  }
  return "unknown block";
}

std::string weight_pipeline_error_text(uint8_t err_cause) {
  const auto blk = pkg::wp_block_e(pkg::wp_cause_t::block.get(err_cause));
  const auto c = uint8_t(pkg::wp_cause_t::cause.get(err_cause));
  if (blk == pkg::WP_BLK_NONE) return "none";
  const char* what = "?";
  switch (blk) {
    case pkg::WP_BLK_TOP: what = error_text(pkg::wp_err_e(c)); break;
    case pkg::WP_BLK_VALUE_DEC:
    case pkg::WP_BLK_META_DEC: what = error_text(pkg::tans_err_e(c)); break;
    case pkg::WP_BLK_UNPACKER: what = error_text(pkg::unp_err_e(c)); break;
    case pkg::WP_BLK_MAC: what = error_text(pkg::mac_err_e(c)); break;
    case pkg::WP_BLK_NONE: break;
  }
  return std::string(error_text(blk)) + ": " + what + " (" + std::to_string(int(blk)) + "." + std::to_string(int(c)) + ")";
}

}  // namespace ws
