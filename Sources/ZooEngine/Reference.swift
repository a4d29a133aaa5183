/// Direct-loop versions of the GEMM-backed layers, written from the definitions rather than
/// from the im2col lowering, so tests can check the fast kernels against something with no
/// shared code. Slow on purpose; Double accumulation keeps their own rounding out of the way.
/// Layouts match the layers: NCHW images, Dense kernel [in, out], Conv2D kernel [O, C, k, k],
/// Conv2DTranspose kernel [C, O, k, k].
public enum Reference {
    /// The shape of one convolution problem: input [n, c, h, w], `outChannels` filters of k×k.
    public struct ConvShape: Sendable {
        public let n: Int, c: Int, h: Int, w: Int
        public let outChannels: Int, k: Int, stride: Int
        public init(n: Int, c: Int, h: Int, w: Int, outChannels: Int, k: Int, stride: Int) {
            self.n = n; self.c = c; self.h = h; self.w = w
            self.outChannels = outChannels; self.k = k; self.stride = stride
        }
    }

    // MARK: Dense

    /// y = x·W + b;  x: [n, inputs], W: [inputs, outputs].
    public static func denseForward(
        x: [Float], n: Int, inputs: Int, outputs: Int,
        kernel: [Float], bias: [Float]?
    ) -> [Float] {
        var y = [Float](repeating: 0, count: n * outputs)
        for r in 0..<n {
            for o in 0..<outputs {
                var sum = Double(bias?[o] ?? 0)
                for i in 0..<inputs { sum += Double(x[r * inputs + i]) * Double(kernel[i * outputs + o]) }
                y[r * outputs + o] = Float(sum)
            }
        }
        return y
    }

    /// dx = dy·Wᵀ, dW = xᵀ·dy, db = Σ_rows dy.
    public static func denseBackward(
        x: [Float], dy: [Float], n: Int, inputs: Int, outputs: Int,
        kernel: [Float]
    ) -> (dx: [Float], dW: [Float], db: [Float]) {
        var dx = [Double](repeating: 0, count: n * inputs)
        var dW = [Double](repeating: 0, count: inputs * outputs)
        var db = [Double](repeating: 0, count: outputs)
        for r in 0..<n {
            for o in 0..<outputs {
                let g = Double(dy[r * outputs + o])
                db[o] += g
                for i in 0..<inputs {
                    dx[r * inputs + i] += g * Double(kernel[i * outputs + o])
                    dW[i * outputs + o] += g * Double(x[r * inputs + i])
                }
            }
        }
        return (dx.map(Float.init), dW.map(Float.init), db.map(Float.init))
    }

    // MARK: Padding

    /// Keras `same` padding before the data (top or left) for a conv from `size` to `outSize`.
    public static func samePadBefore(size: Int, outSize: Int, k: Int, stride: Int) -> Int {
        max((outSize - 1) * stride + k - size, 0) / 2
    }

    // MARK: Conv2D (same)

    /// Output spatial size of Conv2D `same`: ceil(in / stride).
    public static func conv2dOutSize(_ size: Int, stride: Int) -> Int { (size + stride - 1) / stride }

    /// y[n][o][oh][ow] = b[o] + Σ_{c,i,j} x[n][c][oh·s − pt + i][ow·s − pl + j] · K[o][c][i][j]
    public static func conv2dForward(x: [Float], shape s: ConvShape, kernel: [Float], bias: [Float]?)
        -> (y: [Float], outHeight: Int, outWidth: Int)
    {
        let oh = conv2dOutSize(s.h, stride: s.stride), ow = conv2dOutSize(s.w, stride: s.stride)
        let pt = samePadBefore(size: s.h, outSize: oh, k: s.k, stride: s.stride)
        let pl = samePadBefore(size: s.w, outSize: ow, k: s.k, stride: s.stride)
        let o = s.outChannels
        var y = [Float](repeating: 0, count: s.n * o * oh * ow)
        for b in 0..<s.n {
            for f in 0..<o {
                for yh in 0..<oh {
                    for yw in 0..<ow {
                        var sum = Double(bias?[f] ?? 0)
                        for c in 0..<s.c {
                            for i in 0..<s.k {
                                let xh = yh * s.stride - pt + i
                                guard xh >= 0 && xh < s.h else { continue }
                                for j in 0..<s.k {
                                    let xw = yw * s.stride - pl + j
                                    guard xw >= 0 && xw < s.w else { continue }
                                    sum +=
                                        Double(x[((b * s.c + c) * s.h + xh) * s.w + xw])
                                        * Double(kernel[((f * s.c + c) * s.k + i) * s.k + j])
                                }
                            }
                        }
                        y[((b * o + f) * oh + yh) * ow + yw] = Float(sum)
                    }
                }
            }
        }
        return (y, oh, ow)
    }

    public static func conv2dBackward(x: [Float], dy: [Float], shape s: ConvShape, kernel: [Float])
        -> (dx: [Float], dW: [Float], db: [Float])
    {
        let oh = conv2dOutSize(s.h, stride: s.stride), ow = conv2dOutSize(s.w, stride: s.stride)
        let pt = samePadBefore(size: s.h, outSize: oh, k: s.k, stride: s.stride)
        let pl = samePadBefore(size: s.w, outSize: ow, k: s.k, stride: s.stride)
        let o = s.outChannels
        var dx = [Double](repeating: 0, count: x.count)
        var dW = [Double](repeating: 0, count: kernel.count)
        var db = [Double](repeating: 0, count: o)
        for b in 0..<s.n {
            for f in 0..<o {
                for yh in 0..<oh {
                    for yw in 0..<ow {
                        let g = Double(dy[((b * o + f) * oh + yh) * ow + yw])
                        db[f] += g
                        for c in 0..<s.c {
                            for i in 0..<s.k {
                                let xh = yh * s.stride - pt + i
                                guard xh >= 0 && xh < s.h else { continue }
                                for j in 0..<s.k {
                                    let xw = yw * s.stride - pl + j
                                    guard xw >= 0 && xw < s.w else { continue }
                                    let xi = ((b * s.c + c) * s.h + xh) * s.w + xw
                                    let ki = ((f * s.c + c) * s.k + i) * s.k + j
                                    dx[xi] += g * Double(kernel[ki])
                                    dW[ki] += g * Double(x[xi])
                                }
                            }
                        }
                    }
                }
            }
        }
        return (dx.map(Float.init), dW.map(Float.init), db.map(Float.init))
    }

    // MARK: Conv2DTranspose (same)

    /// Output spatial size of Conv2DTranspose `same`: in · stride.
    public static func conv2dTransposeOutSize(_ size: Int, stride: Int) -> Int { size * stride }

    /// Scatter form: every input pixel (h, w) adds x[c][h][w]·K[c][o][i][j] to
    /// y[o][h·s − pt + i][w·s − pl + j], with the padding of the `same` conv from the output
    /// size back to the input size (the conv this layer is the data gradient of).
    public static func conv2dTransposeForward(x: [Float], shape s: ConvShape, kernel: [Float], bias: [Float]?)
        -> (y: [Float], outHeight: Int, outWidth: Int)
    {
        let oh = conv2dTransposeOutSize(s.h, stride: s.stride), ow = conv2dTransposeOutSize(s.w, stride: s.stride)
        let pt = samePadBefore(size: oh, outSize: s.h, k: s.k, stride: s.stride)
        let pl = samePadBefore(size: ow, outSize: s.w, k: s.k, stride: s.stride)
        let o = s.outChannels
        var y = [Double](repeating: 0, count: s.n * o * oh * ow)
        for b in 0..<s.n {
            for f in 0..<o {
                let start = (b * o + f) * oh * ow
                for p in 0..<(oh * ow) { y[start + p] = Double(bias?[f] ?? 0) }
            }
            for c in 0..<s.c {
                for h in 0..<s.h {
                    for w in 0..<s.w {
                        let v = Double(x[((b * s.c + c) * s.h + h) * s.w + w])
                        for f in 0..<o {
                            for i in 0..<s.k {
                                let yh = h * s.stride - pt + i
                                guard yh >= 0 && yh < oh else { continue }
                                for j in 0..<s.k {
                                    let yw = w * s.stride - pl + j
                                    guard yw >= 0 && yw < ow else { continue }
                                    y[((b * o + f) * oh + yh) * ow + yw] +=
                                        v * Double(kernel[((c * o + f) * s.k + i) * s.k + j])
                                }
                            }
                        }
                    }
                }
            }
        }
        return (y.map(Float.init), oh, ow)
    }

    public static func conv2dTransposeBackward(x: [Float], dy: [Float], shape s: ConvShape, kernel: [Float])
        -> (dx: [Float], dW: [Float], db: [Float])
    {
        let oh = conv2dTransposeOutSize(s.h, stride: s.stride), ow = conv2dTransposeOutSize(s.w, stride: s.stride)
        let pt = samePadBefore(size: oh, outSize: s.h, k: s.k, stride: s.stride)
        let pl = samePadBefore(size: ow, outSize: s.w, k: s.k, stride: s.stride)
        let o = s.outChannels
        var dx = [Double](repeating: 0, count: x.count)
        var dW = [Double](repeating: 0, count: kernel.count)
        var db = [Double](repeating: 0, count: o)
        for b in 0..<s.n {
            for f in 0..<o {
                let start = (b * o + f) * oh * ow
                for p in 0..<(oh * ow) { db[f] += Double(dy[start + p]) }
            }
            for c in 0..<s.c {
                for h in 0..<s.h {
                    for w in 0..<s.w {
                        let xi = ((b * s.c + c) * s.h + h) * s.w + w
                        for f in 0..<o {
                            for i in 0..<s.k {
                                let yh = h * s.stride - pt + i
                                guard yh >= 0 && yh < oh else { continue }
                                for j in 0..<s.k {
                                    let yw = w * s.stride - pl + j
                                    guard yw >= 0 && yw < ow else { continue }
                                    let g = Double(dy[((b * o + f) * oh + yh) * ow + yw])
                                    let ki = ((c * o + f) * s.k + i) * s.k + j
                                    dx[xi] += g * Double(kernel[ki])
                                    dW[ki] += g * Double(x[xi])
                                }
                            }
                        }
                    }
                }
            }
        }
        return (dx.map(Float.init), dW.map(Float.init), db.map(Float.init))
    }

    // MARK: Normalisations

    /// LayerNorm over each row of x [n, f]: γ ⊙ (x − mean)/√(var + ε) + β, in Double.
    public static func layerNormForward(x: [Float], n: Int, f: Int, gamma: [Float], beta: [Float], epsilon: Float)
        -> [Float]
    {
        var y = [Float](repeating: 0, count: n * f)
        for r in 0..<n {
            let row = (0..<f).map { Double(x[r * f + $0]) }
            let mean = row.reduce(0, +) / Double(f)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(f)
            let deviation = (variance + Double(epsilon)).squareRoot()
            for j in 0..<f { y[r * f + j] = Float(Double(gamma[j]) * (row[j] - mean) / deviation + Double(beta[j])) }
        }
        return y
    }

    /// The largest singular value of m [rows, columns], from the eigenvalues of mᵀm (or mmᵀ,
    /// the smaller) by cyclic Jacobi rotations in Double: an SVD reference for spectral norm's
    /// power iteration that shares nothing with it.
    public static func largestSingularValue(_ m: [Float], rows: Int, columns: Int) -> Double {
        let k = min(rows, columns)
        var a = [Double](repeating: 0, count: k * k)
        for i in 0..<k {
            for j in 0..<k {
                var sum = 0.0
                if rows <= columns {
                    for c in 0..<columns { sum += Double(m[i * columns + c]) * Double(m[j * columns + c]) }
                } else {
                    for r in 0..<rows { sum += Double(m[r * columns + i]) * Double(m[r * columns + j]) }
                }
                a[i * k + j] = sum
            }
        }
        for _ in 0..<100 {
            var off = 0.0
            for p in 0..<k { for q in 0..<k where p != q { off += a[p * k + q] * a[p * k + q] } }
            if off < 1e-22 { break }
            for p in 0..<k {
                for q in (p + 1)..<k where abs(a[p * k + q]) > 1e-300 {
                    let theta = (a[q * k + q] - a[p * k + p]) / (2 * a[p * k + q])
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for r in 0..<k {  // columns p, q
                        let x = a[r * k + p], y = a[r * k + q]
                        a[r * k + p] = c * x - s * y
                        a[r * k + q] = s * x + c * y
                    }
                    for r in 0..<k {  // rows p, q
                        let x = a[p * k + r], y = a[q * k + r]
                        a[p * k + r] = c * x - s * y
                        a[q * k + r] = s * x + c * y
                    }
                }
            }
        }
        return (0..<k).map { a[$0 * k + $0] }.max().map { max($0, 0).squareRoot() } ?? 0
    }
}
