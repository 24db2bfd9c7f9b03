#!/usr/bin/env python3
"""ops_mix_model.py OUT_DIR — writes ops-mix.json + ops-mix.safetensors, a
small graph for test-mil-e2e that exercises the ops the real models do not
(or not in these forms): a per-channel image port, relu6, grouped and
asymmetrically padded conv, silu, gelu, ceil-mode max and average pooling,
concat, upsample, sigmoid/tanh/maximum/minimum/sub/mul/div, clip, exp,
batch_norm, mean/sum/amax/amin, transpose, reshape, linear and softmax.
Weights are fp16-exact fp32 values from a fixed-seed generator (stdlib only),
so the committed files regenerate byte for byte."""
import json
import random
import struct
import sys


def h(x):
    """x rounded to an fp16 value (as a Python float)."""
    return struct.unpack('<e', struct.pack('<e', x))[0]


def tensor(rng, shape, lo, hi):
    n = 1
    for d in shape:
        n *= d
    return shape, [h(rng.uniform(lo, hi)) for _ in range(n)]


def main():
    out = sys.argv[1]
    rng = random.Random(20261207)
    w = {
        'w1': tensor(rng, [8, 3, 3, 3], -0.5, 0.5),
        'b1': tensor(rng, [8], -0.25, 0.25),
        'w2': tensor(rng, [8, 2, 3, 3], -0.5, 0.5),
        'b2': tensor(rng, [8], -0.25, 0.25),
        'bn_scale': tensor(rng, [16], 0.5, 1.5),
        'bn_bias': tensor(rng, [16], -0.5, 0.5),
        'bn_mean': tensor(rng, [16], -0.25, 0.25),
        'bn_var': tensor(rng, [16], 0.5, 2.0),
        'fc_w': tensor(rng, [10, 16], -0.5, 0.5),
        'fc_b': tensor(rng, [10], -0.5, 0.5),
    }
    header = {'__metadata__': {'producer': 'tests/ane/ops_mix_model.py'}}
    data = b''
    for name in sorted(w):
        shape, vals = w[name]
        blob = struct.pack('<%df' % len(vals), *vals)
        header[name] = {'dtype': 'F32', 'shape': shape,
                        'data_offsets': [len(data), len(data) + len(blob)]}
        data += blob
    hj = json.dumps(header, separators=(',', ':')).encode()
    hj += b' ' * (-len(hj) % 8)
    with open(out + '/ops-mix.safetensors', 'wb') as f:
        f.write(struct.pack('<Q', len(hj)) + hj + data)

    def node(name, op, inputs, **attrs):
        d = {'name': name, 'op': op, 'inputs': inputs}
        d.update(attrs)
        return d

    nodes = [
        node('c1', 'conv', ['image', 'w1', 'b1'], stride=2, pad=[1, 0, 2, 1]),
        node('r6', 'relu6', ['c1']),
        node('c2', 'conv', ['r6', 'w2', 'b2'], stride=1, pad=1, groups=4),
        node('si', 'silu', ['c2']),
        node('ge', 'gelu', ['c2']),
        node('sg', 'add', ['si', 'ge']),
        node('mp', 'max_pool', ['sg'], kernel=3, stride=2, pad=1, ceil_mode=True),
        node('ap', 'avg_pool', ['sg'], kernel=3, stride=2, pad=1, ceil_mode=True,
             count_include_pad=False),
        node('cat', 'concat', ['mp', 'ap'], axis=1),
        node('up', 'upsample', ['cat'], scale=2),
        node('sgm', 'sigmoid', ['up']),
        node('th', 'tanh', ['up']),
        node('mx', 'maximum', ['sgm', 'th']),
        node('mn', 'minimum', ['sgm', 'th']),
        node('df', 'sub', ['mx', 'mn']),
        node('pr', 'mul', ['df', 'up']),
        node('dv', 'div', ['pr', 'sgm']),
        node('cl', 'clip', ['dv'], min=-1.5, max=2.0),
        node('ex', 'exp', ['cl']),
        node('bn', 'batch_norm', ['cat', 'bn_scale', 'bn_bias', 'bn_mean', 'bn_var'], eps=1e-3),
        node('mean', 'mean', ['bn'], axes=[2, 3], keepdims=True),
        node('flat', 'reshape', ['mean'], shape=[1, 16]),
        node('logits', 'linear', ['flat', 'fc_w', 'fc_b']),
        node('probs', 'softmax', ['logits'], axis=-1),
        node('s', 'sum', ['ex'], axes=[1], keepdims=False),
        node('amx', 'amax', ['bn'], axes=[3], keepdims=True),
        node('amn', 'amin', ['bn'], axes=[1], keepdims=False),
        node('tr', 'transpose', ['amx'], perm=[0, 2, 3, 1]),
    ]
    model = {
        'aneforge': 1,
        'name': 'ops-mix',
        'weights': 'ops-mix.safetensors',
        'inputs': [{'name': 'image', 'shape': [1, 3, 11, 13],
                    'image': {'format': 'RGB', 'scale': [2 ** -6, 2 ** -5, 2 ** -7],
                              'bias': [-2.0, -4.0, -1.0]}}],
        'nodes': nodes,
        'outputs': [{'name': n, 'from': n} for n in ('logits', 'probs', 's', 'amn', 'tr', 'ex')],
    }
    with open(out + '/ops-mix.json', 'w') as f:
        json.dump(model, f, indent=2)
        f.write('\n')


main()
