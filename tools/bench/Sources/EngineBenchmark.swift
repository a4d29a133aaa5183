import CBLAS
import Foundation
import ZooEngine

/// GEMM throughput on the DCGAN shapes and forward+backward time per DCGAN layer at
/// batch 256: the numbers `zoo-bench engine` prints. A benchmark, not a test.
enum EngineBenchmark {
    static func time(_ repeats: Int, _ body: () -> Void) -> Double {
        body()  // warm-up: buffers sized, pages touched
        var samples: [Double] = []
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return samples.sorted()[samples.count / 2]
    }

    public static func run(batch: Int = 256, repeats: Int = 5) -> String {
        let replaced = BLASKernels.replacedCore.map { " (OpenBLAS had chosen \($0) at load)" } ?? ""
        var lines = ["OpenBLAS core: \(BLASKernels.current)\(replaced), threads: \(Threads.count), batch \(batch)", ""]
        // The GAN step runs D on the real and on the fake batch, `dChunk` images at a time
        // (GANStep.discriminatorChunk = 48 in the DCGAN plugin, balanced): 2·⌈batch/48⌉ passes of D.
        let passesPerBatch = (batch + 47) / 48
        let dChunk = (batch + passesPerBatch - 1) / passesPerBatch, dPasses = Double(2 * passesPerBatch)
        func chunk(_ geometry: ConvGeometry, _ n: Int, _ channels: Int) -> Int {
            geometry.samplesPerChunk(batch: n, channels: channels, budget: ConvGeometry.defaultColumnBudget)
        }
        let deconv1 = ConvGeometry(channels: 128, height: 7, width: 7, kernel: 5, stride: 1, outHeight: 7, outWidth: 7)
        let deconv2 = ConvGeometry(channels: 64, height: 14, width: 14, kernel: 5, stride: 2, outHeight: 7, outWidth: 7)
        let deconv3 = ConvGeometry(
            channels: 1, height: 28, width: 28, kernel: 5, stride: 2, outHeight: 14, outWidth: 14)
        let conv1 = ConvGeometry.same(channels: 1, height: 28, width: 28, kernel: 5, stride: 2)
        let conv2 = ConvGeometry.same(channels: 64, height: 14, width: 14, kernel: 5, stride: 2)
        // (name, m, n, k) of the forward GEMMs of each DCGAN layer: one column chunk each.
        let shapes: [(String, Int, Int, Int)] = [
            ("G dense 100→12544", batch, 12544, 100),
            ("G deconv1 256→128 k5 s1 (7×7)", 128 * 25, chunk(deconv1, batch, 256) * 49, 256),
            ("G deconv2 128→64 k5 s2 (7→14)", 64 * 25, chunk(deconv2, batch, 128) * 49, 128),
            ("G deconv3 64→1 k5 s2 (14→28)", 25, chunk(deconv3, batch, 64) * 196, 64),
            ("D conv1 1→64 k5 s2 (28→14)", 64, chunk(conv1, dChunk, 64) * 196, 25),
            ("D conv2 64→128 k5 s2 (14→7)", 128, chunk(conv2, dChunk, 128) * 49, 64 * 25),
            // The ceiling: what this OpenBLAS reaches on a large square product here.
            ("reference: square 2048", 2048, 2048, 2048),
        ]
        lines.append("sgemm (forward shapes, one column chunk)       m×n×k                 ms     GFLOP/s")
        for (name, m, n, k) in shapes {
            let a = Tensor(shape: [m, k]), b = Tensor(shape: [k, n]), c = Tensor(shape: [m, n])
            let rng = RandomSource(seed: 1)
            rng.fillUniform(a, -1, 1); rng.fillUniform(b, -1, 1)
            let seconds = time(repeats) { gemm(m: m, n: n, k: k, a.data, lda: k, b.data, ldb: n, c.data, ldc: n) }
            let gflops = 2 * Double(m) * Double(n) * Double(k) / seconds / 1e9
            lines.append(
                String(format: "%-46@ %6d×%6d×%5d  %8.2f  %8.1f", name as NSString, m, n, k, seconds * 1e3, gflops))
        }
        lines.append("")
        lines.append("DCGAN layer forward + backward (input and weight gradients)     ms")
        lines.append(String(format: "(D layers: one %d-image pass × %.0f passes per step)", dChunk, dPasses))
        let rng = RandomSource(seed: 2)
        let layers: [(String, Layer, [Int], Double)] = [
            (
                "G dense 100→12544 (no bias)", Dense(inputs: 100, outputs: 12544, bias: false, rng: rng), [batch, 100],
                1
            ),
            ("G BatchNorm+LeakyReLU 12544", BatchNorm(features: 12544, leakyAlpha: 0.3), [batch, 12544], 1),
            (
                "G deconv1 256→128 k5 s1",
                Conv2DTranspose(inChannels: 256, outChannels: 128, kernel: 5, stride: 1, bias: false, rng: rng),
                [batch, 256, 7, 7], 1
            ),
            ("G BatchNorm+LeakyReLU 128 (7×7)", BatchNorm(features: 128, leakyAlpha: 0.3), [batch, 128, 7, 7], 1),
            (
                "G deconv2 128→64 k5 s2",
                Conv2DTranspose(inChannels: 128, outChannels: 64, kernel: 5, stride: 2, bias: false, rng: rng),
                [batch, 128, 7, 7], 1
            ),
            ("G BatchNorm+LeakyReLU 64 (14×14)", BatchNorm(features: 64, leakyAlpha: 0.3), [batch, 64, 14, 14], 1),
            (
                "G deconv3 64→1 k5 s2",
                Conv2DTranspose(inChannels: 64, outChannels: 1, kernel: 5, stride: 2, bias: false, rng: rng),
                [batch, 64, 14, 14], 1
            ),
            ("G tanh [N,1,28,28]", Tanh(), [batch, 1, 28, 28], 1),
            (
                "D conv1 1→64 k5 s2", Conv2D(inChannels: 1, outChannels: 64, kernel: 5, stride: 2, rng: rng),
                [dChunk, 1, 28, 28], dPasses
            ),
            ("D LeakyReLU [·,64,14,14]", LeakyReLU(alpha: 0.3), [dChunk, 64, 14, 14], dPasses),
            ("D dropout [·,64,14,14]", Dropout(rate: 0.3, rng: rng), [dChunk, 64, 14, 14], dPasses),
            (
                "D conv2 64→128 k5 s2", Conv2D(inChannels: 64, outChannels: 128, kernel: 5, stride: 2, rng: rng),
                [dChunk, 64, 14, 14], dPasses
            ),
            ("D LeakyReLU [·,128,7,7]", LeakyReLU(alpha: 0.3), [dChunk, 128, 7, 7], dPasses),
            ("D dropout [·,128,7,7]", Dropout(rate: 0.3, rng: rng), [dChunk, 128, 7, 7], dPasses),
            ("D dense 6272→1", Dense(inputs: 6272, outputs: 1, rng: rng), [dChunk, 6272], dPasses),
        ]
        var total = 0.0
        for (name, layer, shape, times) in layers {
            let pass = forwardBackward(layer, shape, rng: rng)
            let seconds = time(repeats) { pass(.all) }
            total += seconds * times
            lines.append(
                String(
                    format: "%-58@ %8.2f", (times == 1 ? name : "\(name) ×\(Int(times))") as NSString,
                    seconds * times * 1e3))
        }
        lines.append(String(format: "%-58@ %8.2f", "sum of layers" as NSString, total * 1e3))
        lines.append("")
        lines += conditionalGANLayers(batch: batch, repeats: repeats * 4)
        return lines.joined(separator: "\n")
    }

    /// The conditional GAN's step as each thread runs it (GANStep's whole-step slices): its
    /// share of the batch through G, D twice (real, fake) and G's backward, every GEMM on
    /// that one thread; then both Adam updates over all of the weights, on every thread.
    static func conditionalGANLayers(batch: Int, repeats: Int) -> [String] {
        let slice = (batch + Threads.count - 1) / Threads.count
        var lines = ["Conditional GAN step, one thread's slice of \(slice) images, forward + backward     ms"]
        let rng = RandomSource(seed: 3)
        // (name, layer, input shape, each pass's needs): D's real pass needs no input gradient.
        let layers: [(String, Layer, [Int], [GradientNeeds])] = [
            ("G dense 110→128", Dense(inputs: 110, outputs: 128, rng: rng), [slice, 110], [.parameters]),
            ("G ReLU 128", ReLU(), [slice, 128], [.all]),
            ("G dense 128→784", Dense(inputs: 128, outputs: 784, rng: rng), [slice, 128], [.all]),
            ("G tanh 784", Tanh(), [slice, 784], [.all]),
            (
                "D dense 794→256 (real, fake)", Dense(inputs: 794, outputs: 256, rng: rng), [slice, 794],
                [.parameters, .all]
            ),
            ("D ReLU 256 (real, fake)", ReLU(), [slice, 256], [.all, .all]),
            ("D dense 256→128 (real, fake)", Dense(inputs: 256, outputs: 128, rng: rng), [slice, 256], [.all, .all]),
            ("D ReLU 128 (real, fake)", ReLU(), [slice, 128], [.all, .all]),
            ("D logit 128→1 (real, fake)", Dense(inputs: 128, outputs: 1, rng: rng), [slice, 128], [.all, .all]),
        ]
        var total = 0.0
        for (name, layer, shape, passes) in layers {
            let pass = forwardBackward(layer, shape, rng: rng)
            let seconds = passes.reduce(0.0) { sum, needs in sum + onOneThread(repeats) { pass(needs) } }
            total += seconds
            lines.append(String(format: "%-58@ %8.3f", name as NSString, seconds * 1e3))
        }
        lines.append(String(format: "%-58@ %8.3f", "sum of one slice's layers" as NSString, total * 1e3))
        // Adam over G's 115,344 and D's 236,545 weights, shaped as the plugin's.
        let shapes = [[110, 128], [128], [128, 784], [784], [794, 256], [256], [256, 128], [128], [128, 1], [1]]
        let parameters = shapes.map { Parameter("w", shape: $0) }
        let adam = Adam(parameters: parameters, learningRate: 1e-3)
        let adamSeconds = time(repeats) { adam.step() }
        lines.append(
            String(format: "%-58@ %8.3f", "Adam, G and D (351,889 weights, all threads)" as NSString, adamSeconds * 1e3)
        )
        return lines
    }

    /// A forward and backward of `layer` on a normal input of `shape`, the upstream gradient
    /// drawn once, on the first call.
    static func forwardBackward(_ layer: Layer, _ shape: [Int], rng: RandomSource) -> (GradientNeeds) -> Void {
        let x = Tensor(shape: shape)
        rng.fillNormal(x)
        var dy: Tensor? = nil
        return { needs in
            let y = layer.forward(x, training: true)
            if dy == nil { dy = Tensor(shape: y.shape); rng.fillNormal(dy!) }
            _ = layer.backward(dy!, needs: needs)
        }
    }

    /// Median time of body run as one part of the worker pool, so its GEMMs are not split.
    static func onOneThread(_ repeats: Int, _ body: () -> Void) -> Double {
        time(repeats) { Threads.run(Threads.count) { part in if part == 0 { body() } } }
    }
}
