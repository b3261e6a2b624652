// SPDX-License-Identifier: BSD-2-Clause
//
// vmctl's --json output, written from the messages by reflection rather
// than by protobuf's JSON mapping, which quotes every 64-bit integer and
// names enum values in full: here sizes and times are numbers (while a
// double holds them exactly, as jq reads them), and states and loaders are
// the words vmctl prints for people.
#include <google/protobuf/descriptor.h>

#include <cstdio>
#include <iostream>

#include "vmctl.h"

namespace vmruntime::vmctl {
namespace {

using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr uint64_t kExactInDouble = uint64_t{1} << 53;

// The length of the UTF-8 sequence at s[i], or 0 if the bytes there are
// not one (a stray continuation byte, an overlong form, a surrogate, past
// U+10FFFF, cut short).
size_t utf8_length(const std::string& s, size_t i)
{
    const auto byte = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
    const unsigned lead = byte(0);
    size_t n = 0;
    unsigned low = 0x80, high = 0xbf;  // the second byte's range
    if (lead < 0x80) {
        return 1;
    } else if (lead >= 0xc2 && lead <= 0xdf) {
        n = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        n = 3;
        low = lead == 0xe0 ? 0xa0 : 0x80;
        high = lead == 0xed ? 0x9f : 0xbf;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        n = 4;
        low = lead == 0xf0 ? 0x90 : 0x80;
        high = lead == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    if (byte(1) < low || byte(1) > high) {
        return 0;
    }
    for (size_t k = 2; k < n; k++) {
        if (byte(k) < 0x80 || byte(k) > 0xbf) {
            return 0;
        }
    }
    return n;
}

// JSON text is UTF-8: bytes that are not (a guest's console can print
// anything) become U+FFFD, as Go's encoder and so docker's logs do.
void append_string(std::string* out, const std::string& s)
{
    out->push_back('"');
    for (size_t i = 0; i < s.size();) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        const size_t n = utf8_length(s, i);
        if (n == 0) {
            out->append("\\ufffd");
            i++;
        } else if (n > 1) {
            out->append(s, i, n);
            i += n;
        } else if (c == '"' || c == '\\') {
            out->push_back('\\');
            out->push_back(static_cast<char>(c));
            i++;
        } else if (c < 0x20) {
            char esc[8];
            std::snprintf(esc, sizeof esc, "\\u%04x", c);
            out->append(esc);
            i++;
        } else {
            out->push_back(static_cast<char>(c));
            i++;
        }
    }
    out->push_back('"');
}

void append_base64(std::string* out, const std::string& bytes)
{
    static const char kDigits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out->push_back('"');
    for (size_t i = 0; i < bytes.size(); i += 3) {
        uint32_t group = static_cast<uint8_t>(bytes[i]) << 16;
        size_t n = std::min<size_t>(3, bytes.size() - i);
        if (n > 1) group |= static_cast<uint8_t>(bytes[i + 1]) << 8;
        if (n > 2) group |= static_cast<uint8_t>(bytes[i + 2]);
        for (size_t k = 0; k < 4; k++) {
            out->push_back(k <= n ? kDigits[(group >> (18 - 6 * k)) & 63] : '=');
        }
    }
    out->push_back('"');
}

void append_u64(std::string* out, uint64_t v)
{
    if (v <= kExactInDouble) {
        out->append(std::to_string(v));
    } else {
        append_string(out, std::to_string(v));
    }
}

void append_i64(std::string* out, int64_t v)
{
    if (v >= -static_cast<int64_t>(kExactInDouble) && v <= static_cast<int64_t>(kExactInDouble)) {
        out->append(std::to_string(v));
    } else {
        append_string(out, std::to_string(v));
    }
}

void append_message(std::string* out, const Message& msg);

// One value of `field`; `index` < 0 for a singular field.
void append_value(std::string* out, const Message& msg, const FieldDescriptor* f, int index)
{
    const Reflection* r = msg.GetReflection();
    const bool rep = index >= 0;
    switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_BOOL:
        out->append((rep ? r->GetRepeatedBool(msg, f, index) : r->GetBool(msg, f)) ? "true" : "false");
        break;
    case FieldDescriptor::CPPTYPE_INT32:
        out->append(std::to_string(rep ? r->GetRepeatedInt32(msg, f, index) : r->GetInt32(msg, f)));
        break;
    case FieldDescriptor::CPPTYPE_UINT32:
        out->append(std::to_string(rep ? r->GetRepeatedUInt32(msg, f, index) : r->GetUInt32(msg, f)));
        break;
    case FieldDescriptor::CPPTYPE_INT64:
        append_i64(out, rep ? r->GetRepeatedInt64(msg, f, index) : r->GetInt64(msg, f));
        break;
    case FieldDescriptor::CPPTYPE_UINT64:
        append_u64(out, rep ? r->GetRepeatedUInt64(msg, f, index) : r->GetUInt64(msg, f));
        break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
        out->append(std::to_string(rep ? r->GetRepeatedDouble(msg, f, index) : r->GetDouble(msg, f)));
        break;
    case FieldDescriptor::CPPTYPE_FLOAT:
        out->append(std::to_string(rep ? r->GetRepeatedFloat(msg, f, index) : r->GetFloat(msg, f)));
        break;
    case FieldDescriptor::CPPTYPE_ENUM:
        append_string(out, enum_word(rep ? r->GetRepeatedEnum(msg, f, index) : r->GetEnum(msg, f)));
        break;
    case FieldDescriptor::CPPTYPE_STRING: {
        std::string s = rep ? r->GetRepeatedString(msg, f, index) : r->GetString(msg, f);
        f->type() == FieldDescriptor::TYPE_BYTES ? append_base64(out, s) : append_string(out, s);
        break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
        append_message(out, rep ? r->GetRepeatedMessage(msg, f, index) : r->GetMessage(msg, f));
        break;
    }
}

// Every field, unset ones included, except a message or oneof member that
// is not there.
void append_fields(std::string* out, const Message& msg, bool first)
{
    const auto* desc = msg.GetDescriptor();
    const Reflection* r = msg.GetReflection();
    for (int i = 0; i < desc->field_count(); i++) {
        const FieldDescriptor* f = desc->field(i);
        if (!f->is_repeated() && f->has_presence() && !r->HasField(msg, f)) {
            continue;
        }
        out->append(first ? "" : ",");
        first = false;
        append_string(out, f->name());
        out->push_back(':');
        if (!f->is_repeated()) {
            append_value(out, msg, f, -1);
            continue;
        }
        out->push_back('[');
        for (int k = 0; k < r->FieldSize(msg, f); k++) {
            out->append(k ? "," : "");
            append_value(out, msg, f, k);
        }
        out->push_back(']');
    }
}

void append_message(std::string* out, const Message& msg)
{
    out->push_back('{');
    append_fields(out, msg, true);
    out->push_back('}');
}

}  // namespace

std::string enum_word(const EnumValueDescriptor* value)
{
    if (value->type() == v1::LoaderKind_descriptor()) {
        return loader_word(static_cast<v1::LoaderKind>(value->number()));
    }
    // MACHINE_STATE_RUNNING -> running: the type's name is the prefix.
    std::string prefix;
    for (char c : value->type()->name()) {
        if (std::isupper(static_cast<unsigned char>(c)) && !prefix.empty()) {
            prefix.push_back('_');
        }
        prefix.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    }
    prefix.push_back('_');
    std::string name = value->name();
    name = name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
    for (char& c : name) {
        c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return name;
}

void print_json(const Message& msg, const std::vector<std::pair<std::string, std::string>>& extra)
{
    std::string out = "{";
    append_fields(&out, msg, true);
    for (const auto& [key, raw] : extra) {
        out.push_back(',');
        append_string(&out, key);
        out.push_back(':');
        out.append(raw);
    }
    out.append("}\n");
    // Flushed line by line, so that a pipe into jq sees each as it comes.
    std::cout << out << std::flush;
}

std::string json_string(const std::string& s)
{
    std::string out;
    append_string(&out, s);
    return out;
}

}  // namespace vmruntime::vmctl
