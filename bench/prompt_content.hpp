#pragma once
// The prompt files the prompt-store benchmark commits (bench/run-prompts):
// mlops-prompt-seed writes every seeded version with it and mlops-prompt-next
// the versions committed while measuring. A version's content depends only on
// the prompt's name and the version number.
#include <cstddef>
#include <cstdint>
#include <string>

namespace mlops::bench {

// splitmix64: a deterministic, seedable source of choices for the content.
inline std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

template <std::size_t N>
const char* pick(const char* const (&options)[N], std::uint64_t& state) {
  state = mix(state);
  return options[state % N];
}

inline std::uint64_t name_hash(const std::string& name) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// One version of a prompt file. The prompt fixes the topic and the team; each
// version rewrites some instructions and tunes the model settings, as people do.
inline std::string prompt_yaml(const std::string& name, int version) {
  static const char* const topics[] = {"billing",    "shipping", "returns", "onboarding",   "security",
                                       "api limits", "invoices", "refunds", "data export",  "sso setup",
                                       "mobile app", "webhooks", "pricing", "accessibility"};
  static const char* const teams[] = {"support", "sales", "platform", "growth", "finance", "trust"};
  static const char* const tones[] = {"friendly", "concise", "formal", "warm", "neutral", "direct"};
  static const char* const rules[] = {
      "Never promise a delivery date you cannot see in the context.",
      "If you are unsure, say so and offer to hand over to a human.",
      "Cite the help-centre article when one applies.",
      "Do not ask for passwords or full card numbers.",
      "Prefer numbered steps for anything with more than two steps.",
      "Answer in the language of the question.",
      "Summarise the question in one line before answering.",
      "Keep legal wording out of the answer; link the terms instead.",
  };
  static const char* const models[] = {"gpt-4o-mini", "gpt-4o", "claude-sonnet-4-5", "claude-haiku-4-5"};
  static const char* const changes[] = {"tighten the tone",   "add a safety rule", "shorter answers",
                                        "tune temperature",   "reword the intro",  "switch model",
                                        "clarify context use"};

  std::uint64_t base = name_hash(name);
  std::uint64_t s = base;
  std::string topic = pick(topics, s), team = pick(teams, s);
  std::uint64_t v = mix(base ^ static_cast<std::uint64_t>(version) * 0x2545f4914f6cdd1dULL);
  std::string tone = pick(tones, v), rule1 = pick(rules, v), rule2 = pick(rules, v), model = pick(models, v);
  std::string change = version == 1 ? "first version" : pick(changes, v);
  v = mix(v);
  int words = 80 + static_cast<int>(v % 12) * 20;
  int temp = static_cast<int>((v >> 8) % 10);
  int max_tokens = 256 << ((v >> 16) % 3);

  std::string out;
  out.reserve(1024);
  out += "# " + name + " v" + std::to_string(version) + ": " + change + "\n";
  out += "description: Answers " + topic + " questions for the " + team + " team\n";
  out += "template: |\n";
  out += "  You are the " + team + " assistant at {{ company }}. Use a " + tone + " tone.\n";
  out += "  The customer is {{ customer_name }} on the {{ plan }} plan; the topic is " + topic + ".\n";
  out += "  {% if context %}Relevant notes:\n  {{ context }}\n  {% endif %}";
  out += "Question: {{ question }}\n";
  out += "  Answer in at most " + std::to_string(words) + " words. " + rule1 + "\n";
  if (rule2 != rule1) out += "  " + rule2 + "\n";
  out += "variables:\n";
  out += "  question: {type: string, description: The customer's question}\n";
  out += "  customer_name: {type: string, default: there}\n";
  out += "  plan: {type: string, default: free}\n";
  out += "  company: {type: string, default: Example Corp}\n";
  out += "  context: {type: string, default: \"\"}\n";
  out += "model:\n";
  out += std::string("  provider: ") + (model.rfind("gpt", 0) == 0 ? "openai" : "anthropic") + "\n";
  out += "  model: " + model + "\n";
  out += "  temperature: 0." + std::to_string(temp) + "\n";
  out += "  max_tokens: " + std::to_string(max_tokens) + "\n";
  out += "tags: [" + team + ", generated]\n";
  return out;
}

}  // namespace mlops::bench
