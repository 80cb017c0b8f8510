#!/usr/bin/env python3
"""Generates tests/data/tokenizers/{bpe,unigram,wordpiece}/: a tokenizer.json each and the
reference encodings of Hugging Face `tokenizers` for lowbit's tokenizer.json reader.

Usage: python3 tests/data/gen_tokenizer_json_cases.py [all|main|variants]
Needs: tokenizers, transformers, sentencepiece (pip) and the Debian package `fortunes` (real
English text, /usr/share/games/fortunes) to train on.

  * bpe: a byte-level BPE in RoBERTa's style (ByteLevel pre-tokenizer, add_prefix_space=false,
    RobertaProcessing, <s> <pad> </s> <unk> <mask>, <mask> with lstrip as in roberta-base), vocab
    2000, trained by `tokenizers` on the fortunes; plus a normal (non-special) added token.
  * unigram: XLM-R's pipeline. A sentencepiece Unigram model trained on the same text with
    nmt_nfkc normalization, converted by transformers' XLMRobertaConverter (the converter that
    made the real xlm-roberta tokenizer.json): Precompiled charsmap + Replace(" {2,}", " "),
    Metaspace, TemplateProcessing "<s> $A </s>" / "<s> $A </s> </s> $B </s>"; plus a normal added
    token with single_word.
  * wordpiece: transformers' BertTokenizer (fast) on a cased vocabulary (the first entries of
    tests/data/cased_vocab.txt, to stay small), saved by save_pretrained: tokenizer.json and
    tokenizer_config.json, no vocab.txt.

  * variants/NAME.json: small tokenizers (a few hundred tokens, trained by `tokenizers` on the
    same text) for the other components: NFD/NFKD/NFKC, Lowercase, StripAccents, Strip, Prepend,
    Replace, WhitespaceSplit, Whitespace, Punctuation, Digits, Split (every behaviour, invert),
    Metaspace "first", BPE with end_of_word_suffix / continuing_subword_prefix / fuse_unk /
    byte_fallback / ignore_merges / "a b" merges, Unigram with byte_fallback, BertProcessing,
    TemplateProcessing, a Sequence post-processor, the Llama decoders, the Split regexes of
    Qwen 2 and Llama 3 (groups, (?i:...), look-ahead), added tokens with
    lstrip / rstrip / single_word / normalized; variants/cases.json holds their cases.

cases.json next to each tokenizer.json: {"text", "text_pair"?, "max_length" (null: none), "ids",
"type_ids", "untruncated_length", "plain"? (ids without special tokens), "decoded"? (left out where it is the text)}. Encodings
come from tokenizers.Tokenizer with longest_first truncation; a pair whose second text is empty
is encoded as the first text alone, as transformers 5 does (`[(a, b)] if b else [a]`).
"""

import glob
import json
import os
import random
import shutil
import sys
import tempfile
import types

import tokenizers
import transformers
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "tokenizers")


def fortunes():
    """The fortune cookies of the Debian package `fortunes`, one string each."""
    files = sorted(f for f in glob.glob("/usr/share/games/fortunes/*")
                   if not f.endswith((".dat", ".u8")) and os.path.isfile(f))
    if not files:
        sys.exit("install the Debian package 'fortunes' (apt-get install fortunes)")
    out = []
    for f in files:
        with open(f, encoding="utf-8", errors="replace") as fh:
            out += [c.strip("\n") for c in fh.read().split("\n%\n") if c.strip()]
    return out


BPE_SPECIFIC = [
    " leading space", "trailing space ", "  two leading", "two trailing  ", "   ", " ", "a  b",
    "a   b", "a \tb", "\ttab", "tab\t", "new\nline", "\n\nblank lines\n\n", "mixed \n\t \r\n end",
    "word\u00a0nbsp", "ideographic\u3000space", "em\u2003space", "line\u2028sep",
    "I'm", "you're", "we've", "they'll", "he'd", "it's", "don't", "DON'T", "I'M", "'s", "'t",
    "'re're", "rock'n'roll", "'quoted'", "''double''", "it's'", "O'Neil's", "x 's", "x's 't",
    "123", "12345678901234567890", " 42", "3.14", "1,000,000", "v2.0.1", "x86_64", "a1b2c3",
    "!!!", "...", "?!?!", " ...", "--", "—", "==>", "(((nested)))", "<<>>", "@@", "##", "$$",
    "😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "🇫🇷🇩🇪", "smile😀smile", " 😀", "😀 ",
    "中文字符", "日本語のテキスト", "한국어 텍스트", "混合 mixed 文字", "Привет мир", "γειά σου",
    "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก", "ქართული",
    "café", "cafe\u0301", "naïve", "Ångström", "e\u0301\u0302\u0303", "\u0301 lone mark",
    "a\u0300b\u0301c\u0302", "ﬁ ligature", "Ｆｕｌｌｗｉｄｔｈ", "①②③", "½", "x²",
    "<s>", "</s>", "<pad>", "<unk>", "<mask>", "Hello <mask>!", "Hello<mask>", "Hello  <mask> x",
    "<s>inside</s>", "a <s> b </s> c", "<mask><mask>", " <mask>", "<MASK>", "<s",
    "lowbit lowbit", "xlowbit", "lowbitx", "a lowbit b", "Zowbit",
    "xyzzy", "a xyzzy b", "xyzzyx", "xxyzzy", "(xyzzy)", "_xyzzy", "xyzzy_",
    "\u00e9\u0301", "\u4e00", "\U0001F600\U0001F601", "\u200d", "\u200b", "\ufeffBOM", "\x00nul",
    "\x7f", "\x1b[31mred\x1b[0m", "\ufffd",
    "a" * 300, "ab" * 200, "hello" * 50, "😀" * 30, "中" * 50, "." * 100, " " * 50 + "x",
    "Supercalifragilisticexpialidocious", "pneumonoultramicroscopicsilicovolcanoconiosis",
    "https://example.com/path/to/page?query=1&x=2#frag", "user@example.com",
    "def f(x):\n    return x ** 2\n", "if (a && b || !c) { return; }", "<html><body>hi</body>",
    "C:\\Windows\\System32", "~/.bashrc", "$HOME/bin:/usr/bin",
]


def base_texts():
    with open(os.path.join(HERE, "tokenizer_cases.json"), encoding="utf-8") as f:
        cases = json.load(f)["cases"]
    with open(os.path.join(HERE, "hf_golden.json"), encoding="utf-8") as f:
        golden = json.load(f)
    texts, pairs, seen = [], [], set()

    def add(t):
        if t not in seen:
            seen.add(t)
            texts.append(t)

    for c in cases:
        if "text_pair" in c:
            pairs.append((c["text"], c["text_pair"]))
        else:
            add(c["text"])
    for c in golden["cases"]:
        add(c["text"])
    for p in golden["pairs"]:
        pairs.append((p["a"], p["b"]))
    for t in BPE_SPECIFIC:
        add(t)
    return texts, pairs


def encodings(tok, texts, pairs, rng, held_out):
    """The cases: every text untruncated (with plain ids and the decoding), a sample truncated
    at a few lengths, every pair at a few lengths."""
    out = []

    def enc(a, b, max_length):
        if max_length is None:
            tok.no_truncation()
        else:
            tok.enable_truncation(max_length, strategy="longest_first")
        e = tok.encode(a, b) if b else tok.encode(a)
        tok.no_truncation()
        full = tok.encode(a, b) if b else tok.encode(a)
        case = {"text": a}
        if b is not None:
            case["text_pair"] = b
        case.update(max_length=max_length, ids=e.ids, type_ids=e.type_ids,
                    untruncated_length=len(full.ids))
        return case

    for t in texts + held_out:
        c = enc(t, None, None)
        c["plain"] = tok.encode(t, add_special_tokens=False).ids
        decoded = tok.decode(c["ids"], skip_special_tokens=True)
        if decoded != t:  # left out when it gives the text back
            c["decoded"] = decoded
        out.append(c)
    for t in rng.sample(texts + held_out, 80):
        out.append(enc(t, None, rng.choice([2, 3, 5, 8, 16])))
    for a, b in pairs:
        # Long pairs only truncated, to keep the file small.
        for m in (None, 7, 16, 40) if len(a) + len(b) < 1000 else (7, 40):
            out.append(enc(a, b, m))
    for i in range(40):
        a, b = rng.sample(held_out, 2)
        out.append(enc(a, b, rng.choice([None, 5, 9, 24, 64])))
    return out


def write(name, tok_json_path, cases, extra):
    folder = os.path.join(OUT, name)
    meta = {"comment": "Generated by tests/data/gen_tokenizer_json_cases.py from " + name +
            "/tokenizer.json (read its docstring).", "tokenizers": tokenizers.__version__,
            "transformers": transformers.__version__, "num_cases": len(cases)}
    meta.update(extra)
    with open(os.path.join(folder, "cases.json"), "w", encoding="utf-8") as f:
        json.dump({"meta": meta, "cases": cases}, f, ensure_ascii=False, separators=(",", ":"))
    print(name, len(cases), "cases;", os.path.getsize(tok_json_path), "bytes of tokenizer.json")


def build_bpe(corpus, folder):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=2000, min_frequency=2,
                                  special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")),
                                                      ("<s>", tok.token_to_id("<s>")))
    # roberta-base's <mask> eats the spaces before it.
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, normalized=False, special=True)])
    tok.add_tokens([AddedToken(" lowbit", normalized=False)])
    path = os.path.join(folder, "tokenizer.json")
    tok.save(path, pretty=False)
    return Tokenizer.from_file(path)


def build_unigram(corpus, folder):
    import sentencepiece as spm
    from transformers.convert_slow_tokenizer import XLMRobertaConverter

    with tempfile.TemporaryDirectory() as tmp:
        txt = os.path.join(tmp, "corpus.txt")
        with open(txt, "w", encoding="utf-8") as f:
            for c in corpus:
                f.write(c.replace("\n", " ") + "\n")
        spm.SentencePieceTrainer.train(
            input=txt, model_prefix=os.path.join(tmp, "spm"), vocab_size=2000,
            model_type="unigram", normalization_rule_name="nmt_nfkc", character_coverage=0.9995,
            minloglevel=2)
        # The converter reads only these of an XLMRobertaTokenizer (fairseq's ids: <s> 0, </s> 2).
        fairseq = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
        slow = types.SimpleNamespace(vocab_file=os.path.join(tmp, "spm.model"),
                                     add_prefix_space=True, legacy=True,
                                     convert_tokens_to_ids=fairseq.__getitem__)
        conv = XLMRobertaConverter(slow)
        tok = conv.converted()
    # As in xlm-roberta-base's tokenizer.json: every special token an added token, <mask> lstrip.
    tok.add_special_tokens([AddedToken("<pad>", normalized=False, special=True),
                            AddedToken("<unk>", normalized=False, special=True),
                            AddedToken("<mask>", lstrip=True, normalized=False, special=True)])
    tok.add_tokens([AddedToken("xyzzy", single_word=True, normalized=True)])
    path = os.path.join(folder, "tokenizer.json")
    tok.save(path, pretty=False)
    tok = Tokenizer.from_file(path)
    spec = json.load(open(path, encoding="utf-8"))
    types_ = {k: (spec[k] or {}).get("type") for k in ("normalizer", "pre_tokenizer", "post_processor")}
    norm = spec["normalizer"]
    if norm and norm.get("type") == "Sequence":
        types_["normalizers"] = [n["type"] for n in norm["normalizers"]]
    print("unigram components:", types_)
    return tok


def build_wordpiece(folder):
    from transformers import BertTokenizer

    with open(os.path.join(HERE, "cased_vocab.txt"), encoding="utf-8") as f:
        vocab = [line.rstrip("\n") for line in f]
    vocab = vocab[:9000]  # the special tokens, every character, then the frequent words
    with tempfile.TemporaryDirectory() as tmp:
        vf = os.path.join(tmp, "vocab.txt")
        with open(vf, "w", encoding="utf-8") as f:
            f.write("\n".join(vocab) + "\n")
        hf = BertTokenizer(vocab=vf, do_lower_case=False)
        assert len(hf) == len(vocab), (len(hf), len(vocab))
        hf.save_pretrained(folder)
    for extra in ("vocab.txt", "special_tokens_map.json"):
        p = os.path.join(folder, extra)
        if os.path.exists(p):
            os.remove(p)
    path = os.path.join(folder, "tokenizer.json")
    tok = Tokenizer.from_file(path)
    tok.save(path, pretty=False)  # compact, to keep the test data small
    return Tokenizer.from_file(path)


# ---------------------------------------------------------------------------------------------
# Variants: small tokenizers (vocab of a few hundred) that put the other components to work.


def edit(tok, fn):
    """The tokenizer with its JSON changed by fn (for what the Python API cannot set)."""
    spec = json.loads(tok.to_str())
    fn(spec)
    return Tokenizer.from_str(json.dumps(spec))


def add_byte_tokens(spec, unigram=False):
    m = spec["model"]
    for b in range(256):
        t = "<0x%02X>" % b
        if unigram:
            m["vocab"].append([t, -30.0])
        elif t not in m["vocab"]:
            m["vocab"][t] = len(m["vocab"])
    m["byte_fallback"] = True


def build_variants(corpus):
    from tokenizers import normalizers, Regex

    small = corpus[:3000]
    out = {}

    # BERT-like pipeline from separate parts; NFD + StripAccents; digits split; BertProcessing.
    t = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=20))
    t.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.Lowercase(),
                                         normalizers.StripAccents()])
    t.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                               pre_tokenizers.Punctuation(),
                                               pre_tokenizers.Digits(individual_digits=True)])
    t.train_from_iterator(small, trainers.WordPieceTrainer(
        vocab_size=500, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]"], show_progress=False))
    t.post_processor = processors.BertProcessing(("[SEP]", 3), ("[CLS]", 2))
    t.decoder = decoders.WordPiece()
    out["wordpiece_parts"] = t

    # BPE with an end-of-word suffix and an unknown token, Whitespace pre-tokenizer, NFKC, Strip,
    # a template with type ids 1 for the second sequence; no decoder.
    t = Tokenizer(models.BPE(unk_token="<unk>", end_of_word_suffix="</w>"))
    t.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Strip()])
    t.pre_tokenizer = pre_tokenizers.Whitespace()
    t.train_from_iterator(small, trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<unk>", "<cls>", "<sep>"], end_of_word_suffix="</w>",
        show_progress=False))
    t.post_processor = processors.TemplateProcessing(
        single="<cls> $A <sep>", pair="<cls> $A <sep> $B:1 <sep>:1",
        special_tokens=[("<cls>", 1), ("<sep>", 2)])
    t.add_tokens([AddedToken("hello world", normalized=True),
                  AddedToken("<x>", rstrip=True, normalized=False)])
    out["bpe_suffix"] = t

    # BPE with a continuing-subword prefix, fused unknowns, Split patterns of each behaviour.
    t = Tokenizer(models.BPE(unk_token="[UNK]", continuing_subword_prefix="##", fuse_unk=True))
    t.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split("-", behavior="merged_with_previous"),
        pre_tokenizers.Split(Regex(r"\s+"), behavior="removed"),
        pre_tokenizers.Split(Regex(r"[0-9]{1,3}"), behavior="isolated"),
        pre_tokenizers.Split(Regex(r"[.,;:!?]"), behavior="merged_with_next"),
        pre_tokenizers.Split(Regex(r"[()\[\]]+"), behavior="contiguous", invert=True)])
    t.train_from_iterator(small, trainers.BpeTrainer(
        vocab_size=400, special_tokens=["[UNK]"], continuing_subword_prefix="##",
        limit_alphabet=60, show_progress=False))
    out["bpe_prefix_split"] = t

    # Llama 2 style: Prepend + Replace normalizer, no pre-tokenizer, byte fallback, the
    # Replace/ByteFallback/Fuse/Strip decoder, "<s> $A".
    t = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True))
    t.pre_tokenizer = pre_tokenizers.Metaspace()
    t.train_from_iterator(small, trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<unk>", "<s>", "</s>"], limit_alphabet=70,
        show_progress=False))

    def llama(spec):
        add_byte_tokens(spec)
        spec["pre_tokenizer"] = None
        spec["normalizer"] = {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]}
        spec["decoder"] = {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
        spec["post_processor"] = {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<s>", "type_id": 1}},
                     {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}}
        # The "a b" form of merges, as older files and Llama's have it.
        spec["model"]["merges"] = [" ".join(m) for m in spec["model"]["merges"]]
    out["llama_bpe"] = edit(t, llama)

    # Unigram trained by tokenizers with byte fallback; NFKD + StripAccents + Lowercase;
    # WhitespaceSplit + Metaspace "first" without split; added tokens with strips.
    t = Tokenizer(models.Unigram())
    t.normalizer = normalizers.Sequence([normalizers.NFKD(), normalizers.StripAccents(),
                                         normalizers.Lowercase()])
    t.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="first", split=False)
    t.train_from_iterator(small, trainers.UnigramTrainer(
        vocab_size=400, special_tokens=["<pad>", "<unk>", "<s>", "</s>"], unk_token="<unk>",
        show_progress=False))
    t.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B:1 </s>:1", special_tokens=[("</s>", 3)])
    t.decoder = decoders.Metaspace(prepend_scheme="first", split=False)
    t.add_special_tokens([AddedToken("[SPECIAL]", lstrip=True, rstrip=True, normalized=False)])
    t.add_tokens([AddedToken("Café", normalized=True, single_word=True)])
    out["unigram_bytes"] = edit(t, lambda spec: add_byte_tokens(spec, unigram=True))

    # Byte-level BPE with add_prefix_space and ignore_merges (Llama 3 style), BertProcessing
    # ids through a Sequence post-processor with ByteLevel.
    t = Tokenizer(models.BPE(ignore_merges=True))
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    t.decoder = decoders.ByteLevel()
    t.train_from_iterator(small, trainers.BpeTrainer(
        vocab_size=600, special_tokens=["<|begin|>", "<|end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    t.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin|> $A <|end|>",
                                      pair="<|begin|> $A <|end|> $B:1 <|end|>:1",
                                      special_tokens=[("<|begin|>", 0), ("<|end|>", 1)])])
    out["bytelevel_prefix"] = t

    # Qwen 2 and Llama 3 style: a Split regex with (?i:...), look-ahead and \r\n classes before a
    # ByteLevel without its own regex.
    for name, digits in (("qwen_split", r"\p{N}"), ("llama3_split", r"\p{N}{1,3}")):
        regex = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|" + digits +
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
        t = Tokenizer(models.BPE(ignore_merges=name == "llama3_split"))
        if name == "qwen_split":
            t.normalizer = normalizers.NFC()
        t.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(regex), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
        t.decoder = decoders.ByteLevel()
        t.train_from_iterator(small, trainers.BpeTrainer(
            vocab_size=500, special_tokens=["<|begin_of_text|>", "<|endoftext|>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
        if name == "qwen_split":
            t.post_processor = processors.ByteLevel(trim_offsets=False)
        else:
            t.post_processor = processors.TemplateProcessing(
                single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|>:1 $B:1",
                special_tokens=[("<|begin_of_text|>", 0)])
        out[name] = t
    return out


VARIANT_TEXTS = [
    "hello world", "Hello world", "hello  world", "say hello world!", "<x>   after", "a<x>b",
    "well-known co-op", "x--y", "(a) [b] ((c))", "1234567 89", "end. Next, then; done!",
    "[SPECIAL] start", "mid [SPECIAL] mid", "end [SPECIAL]", "Café", "café", "a Café b",
    "CaféX", "ÉCOLE élève", "naïve Ångström", "\u00e9\u0301", "Σίσυφος", "ǅ", "ﬁ",
    "<s>", "</s>", "<unk>", "<|begin|>x<|end|>", "\u2581already", "▁▁x", " leading", "trailing ",
    "IT'S I'LL we'Re", "a\r\nb", "x\r\n\r\n  y", "  \n  x", "1234567", "tab\t\tend\t", "$$$\n\n",
    "<|endoftext|>", "a<|begin_of_text|>b",
]


def variants_main(corpus, texts, pairs, held_out):
    folder = os.path.join(OUT, "variants")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    rng = random.Random(7)
    sample = VARIANT_TEXTS + [t for t in rng.sample(texts, 120) if len(t) < 300][:70]
    sample += [t for t in held_out[:30] if len(t) < 300][:15]
    pair_sample = [p for p in pairs if len(p[0]) + len(p[1]) < 300][:14]
    out = {}
    for name, tok in build_variants(corpus).items():
        path = os.path.join(folder, name + ".json")
        tok.save(path, pretty=False)
        tok = Tokenizer.from_file(path)
        cases = []
        for t in sample:
            tok.no_truncation()
            e = tok.encode(t)
            c = {"text": t, "max_length": None, "ids": e.ids, "type_ids": e.type_ids,
                 "untruncated_length": len(e.ids),
                 "plain": tok.encode(t, add_special_tokens=False).ids}
            d = tok.decode(e.ids, skip_special_tokens=True)
            if d != t:
                c["decoded"] = d
            cases.append(c)
        for a, b in pair_sample + [(held_out[i], held_out[i + 1]) for i in range(30, 42, 2)]:
            for m in (None, 6, 20):
                if m is None:
                    tok.no_truncation()
                else:
                    tok.enable_truncation(m, strategy="longest_first")
                e = tok.encode(a, b) if b else tok.encode(a)
                tok.no_truncation()
                full = tok.encode(a, b) if b else tok.encode(a)
                cases.append({"text": a, "text_pair": b, "max_length": m, "ids": e.ids,
                              "type_ids": e.type_ids, "untruncated_length": len(full.ids)})
        out[name] = {"vocab_size": tok.get_vocab_size(with_added_tokens=True), "cases": cases}
        print("variant", name, len(cases), "cases;", os.path.getsize(path), "bytes")
    meta = {"comment": "Generated by tests/data/gen_tokenizer_json_cases.py (variants): NAME.json "
            "with its cases; fields as in the other cases.json files.",
            "tokenizers": tokenizers.__version__}
    with open(os.path.join(folder, "cases.json"), "w", encoding="utf-8") as f:
        json.dump({"meta": meta, "variants": out}, f, ensure_ascii=False, separators=(",", ":"))


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "all"  # all | main | variants
    rng = random.Random(13)
    corpus = fortunes()
    rng.shuffle(corpus)
    held_out, corpus = corpus[:120], corpus[120:]
    print(len(corpus), "fortunes to train on,", sum(map(len, corpus)), "characters")
    texts, pairs = base_texts()
    if what in ("all", "variants"):
        variants_main(corpus, texts, pairs, held_out)
    if what == "variants":
        return
    for name in ("bpe", "unigram", "wordpiece"):
        shutil.rmtree(os.path.join(OUT, name), ignore_errors=True)
        os.makedirs(os.path.join(OUT, name))

    bpe = build_bpe(corpus, os.path.join(OUT, "bpe"))
    write("bpe", os.path.join(OUT, "bpe", "tokenizer.json"),
          encodings(bpe, texts, pairs, random.Random(1), held_out),
          {"vocab_size": bpe.get_vocab_size(with_added_tokens=True)})

    uni = build_unigram(corpus, os.path.join(OUT, "unigram"))
    write("unigram", os.path.join(OUT, "unigram", "tokenizer.json"),
          encodings(uni, texts, pairs, random.Random(2), held_out),
          {"vocab_size": uni.get_vocab_size(with_added_tokens=True)})

    wp = build_wordpiece(os.path.join(OUT, "wordpiece"))
    write("wordpiece", os.path.join(OUT, "wordpiece", "tokenizer.json"),
          encodings(wp, texts, pairs, random.Random(3), held_out),
          {"vocab_size": wp.get_vocab_size(with_added_tokens=True)})


if __name__ == "__main__":
    main()
