// ort_bench_any.js — ONNX Runtime (onnxruntime-node, CPU EP) latency of any
// single-input model: reads the input's shape and element type from the model
// (fp32 or fp16), fills it with random data, prints one JSON line like
// ../shared/bench/ort_bench.js does.
// Usage: node ort_bench_any.js MODEL.onnx THREADS [RUNS=50] [WARMUP=5]
const ort = require('onnxruntime-node');
async function main() {
  const [model, thr, runsS, warmS] = process.argv.slice(2);
  const threads = parseInt(thr), runs = parseInt(runsS || '50'), warm = parseInt(warmS || '5');
  const sess = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1,
    executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const name = sess.inputNames[0];
  const meta = sess.inputMetadata ? sess.inputMetadata[0] : null;
  const dims = (meta && meta.shape ? meta.shape : [1, 3, 224, 224]).map(d => (typeof d === 'number' && d > 0 ? d : 1));
  const type = meta && meta.type ? meta.type : 'float32';
  const n = dims.reduce((a, b) => a * b, 1);
  let data;
  if (type === 'float16') {
    data = new Uint16Array(n);
    for (let i = 0; i < n; i++) data[i] = 0x3c00; // 1.0
  } else {
    data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = Math.random() * 2 - 1;
  }
  const feeds = { [name]: new ort.Tensor(type, data, dims) };
  for (let i = 0; i < warm; i++) await sess.run(feeds);
  const t = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await sess.run(feeds);
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  t.sort((a, b) => a - b);
  console.log(JSON.stringify({ model: model.split('/').pop(), threads, runs, type, dims,
    median_ms: t[Math.floor(t.length / 2)], min_ms: t[0] }));
}
main().catch(e => { console.error(e.message || e); process.exit(1); });
