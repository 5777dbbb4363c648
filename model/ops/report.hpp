// The report lines of the whole-file commands are printf-formatted; this formats them into a string,
// so ops/ builds the text and the command line only prints it.
#pragma once

#include <string>

namespace ws {

std::string strprintf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace ws
