import Foundation

/// GEMM throughput on the DCGAN shapes and forward+backward time per DCGAN layer at
/// batch 256: the numbers `zoo-bench engine` prints. A benchmark, not a test.
public enum EngineBenchmark {
    static func time(_ repeats: Int, _ body: () -> Void) -> Double {
        body()   // warm-up: buffers sized, pages touched
        var samples: [Double] = []
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return samples.sorted()[samples.count / 2]
    }

    public static func run(batch: Int = 256, repeats: Int = 5) -> String {
        var lines = ["OpenBLAS core: \(Threads.blasCore), threads: \(Threads.count), batch \(batch)", ""]
        // (name, m, n, k) of the forward GEMMs of each DCGAN layer at this batch.
        let shapes: [(String, Int, Int, Int)] = [
            ("G dense 100→12544", batch, 12544, 100),
            ("G deconv1 256→128 k5 s1 (7×7)", 128 * 25, batch * 49, 256),
            ("G deconv2 128→64 k5 s2 (7→14)", 64 * 25, batch * 49, 128),
            ("G deconv3 64→1 k5 s2 (14→28)", 25, batch * 196, 64),
            ("D conv1 1→64 k5 s2 (28→14), 2N", 64, 2 * batch * 196, 25),
            ("D conv2 64→128 k5 s2 (14→7), 2N", 128, 2 * batch * 49, 64 * 25),
        ]
        lines.append("sgemm (forward shapes)                          m×n×k                 ms     GFLOP/s")
        for (name, m, n, k) in shapes {
            let a = Tensor(shape: [m, k]), b = Tensor(shape: [k, n]), c = Tensor(shape: [m, n])
            let rng = RandomSource(seed: 1)
            rng.fillUniform(a, -1, 1); rng.fillUniform(b, -1, 1)
            let seconds = time(repeats) { gemm(m: m, n: n, k: k, a.data, lda: k, b.data, ldb: n, c.data, ldc: n) }
            let gflops = 2 * Double(m) * Double(n) * Double(k) / seconds / 1e9
            lines.append(String(format: "%-46@ %6d×%6d×%5d  %8.2f  %8.1f", name as NSString, m, n, k, seconds * 1e3, gflops))
        }
        lines.append("")
        lines.append("DCGAN layer forward + backward (input and weight gradients)     ms")
        let rng = RandomSource(seed: 2)
        let layers: [(String, Layer, [Int])] = [
            ("G dense 100→12544 (no bias)", Dense(inputs: 100, outputs: 12544, bias: false, rng: rng), [batch, 100]),
            ("G BatchNorm 12544", BatchNorm(features: 12544), [batch, 12544]),
            ("G LeakyReLU [N,12544]", LeakyReLU(alpha: 0.3), [batch, 12544]),
            ("G deconv1 256→128 k5 s1", Conv2DTranspose(inChannels: 256, outChannels: 128, kernel: 5, stride: 1, bias: false, rng: rng), [batch, 256, 7, 7]),
            ("G BatchNorm 128 (7×7)", BatchNorm(features: 128), [batch, 128, 7, 7]),
            ("G deconv2 128→64 k5 s2", Conv2DTranspose(inChannels: 128, outChannels: 64, kernel: 5, stride: 2, bias: false, rng: rng), [batch, 128, 7, 7]),
            ("G BatchNorm 64 (14×14)", BatchNorm(features: 64), [batch, 64, 14, 14]),
            ("G deconv3 64→1 k5 s2", Conv2DTranspose(inChannels: 64, outChannels: 1, kernel: 5, stride: 2, bias: false, rng: rng), [batch, 64, 14, 14]),
            ("G tanh [N,1,28,28]", Tanh(), [batch, 1, 28, 28]),
            ("D conv1 1→64 k5 s2 (2N)", Conv2D(inChannels: 1, outChannels: 64, kernel: 5, stride: 2, rng: rng), [2 * batch, 1, 28, 28]),
            ("D LeakyReLU [2N,64,14,14]", LeakyReLU(alpha: 0.3), [2 * batch, 64, 14, 14]),
            ("D dropout [2N,64,14,14]", Dropout(rate: 0.3, rng: rng), [2 * batch, 64, 14, 14]),
            ("D conv2 64→128 k5 s2 (2N)", Conv2D(inChannels: 64, outChannels: 128, kernel: 5, stride: 2, rng: rng), [2 * batch, 64, 14, 14]),
            ("D dense 6272→1 (2N)", Dense(inputs: 6272, outputs: 1, rng: rng), [2 * batch, 6272]),
        ]
        var total = 0.0
        for (name, layer, shape) in layers {
            let x = Tensor(shape: shape)
            rng.fillNormal(x)
            var dy: Tensor? = nil
            let seconds = time(repeats) {
                let y = layer.forward(x, training: true)
                if dy == nil { dy = Tensor(shape: y.shape); rng.fillNormal(dy!) }
                _ = layer.backward(dy!, needs: .all)
            }
            total += seconds
            lines.append(String(format: "%-58@ %8.2f", name as NSString, seconds * 1e3))
        }
        lines.append(String(format: "%-58@ %8.2f", "sum of layers" as NSString, total * 1e3))
        return lines.joined(separator: "\n")
    }
}
