"""T5's relative position bucket (docs/t5.md), in plain Python for the PyTorch scripts
(scripts/t5_reference.py and bench/torch_t5.py): no torch, so importing it changes no defaults."""
import math


def bucket(relative, bidirectional, num_buckets, max_distance):
    """The bucket of key position - query position."""
    b = 0
    if bidirectional:
        num_buckets //= 2
        if relative > 0:
            b += num_buckets
        distance = abs(relative)
    else:
        distance = max(-relative, 0)
    max_exact = num_buckets // 2
    if distance < max_exact:
        return b + distance
    large = max_exact + int(math.log(distance / max_exact) / math.log(max_distance / max_exact) * (num_buckets - max_exact))
    return b + min(large, num_buckets - 1)
