import ZooEngine

extension GANStep {
    /// The Keras article's loop (`GANLoop.keras`), as its three `train_on_batch` calls:
    /// D on the real batch (target 1) and an Adam step; D on a fake batch drawn by
    /// `generator.predict` (inference mode) with its own noise (target 0) and a second Adam
    /// step; then G through the stacked model with fresh noise (target 1), D frozen. Returns
    /// (D's real + fake loss, G's loss), each a mean over the batch.
    func kerasStep(_ batch: Batch, rng: RandomSource) -> StepResult {
        let n = batch.images.batch, inverseN = 1 / Float(n)
        let labels = batchLabels(batch)
        let real = realImagesForD(batch, rng: rng)
        let b = passBuffers[0]
        let loss = self.loss
        let realTarget = 1 - labelSmoothing
        precondition(auxiliaryClasses == 0, "the Keras loop has no auxiliary classifier head; use the joint step")
        var dLoss = 0.0, gLoss = 0.0

        var logits = discriminator.forward(real, oneHot: labels, training: true)
        b.dLogitsReal.resize(logits.shape)
        for i in 0..<n {
            let term = loss.real(logits.data[i], realTarget: realTarget)
            dLoss += term.term
            b.dLogitsReal.data[i] = term.slope * inverseN
        }
        discriminator.backward(b.dLogitsReal, needs: .parameters)
        discriminatorOptimizer.step()

        noise.resize([n, latentSize])
        latentPrior.fill(noise, rng: rng)
        let predicted = withInstanceNoise(
            generator.forward(noise, oneHot: labels, training: false), rows: 0..<n, into: noisyFake)
        logits = discriminator.forward(predicted, oneHot: labels, training: true)
        b.dLogitsFakeD.resize(logits.shape)
        for i in 0..<n {
            let term = loss.fake(logits.data[i])
            dLoss += term.term
            b.dLogitsFakeD.data[i] = term.slope * inverseN
        }
        discriminator.backward(b.dLogitsFakeD, needs: .parameters)
        discriminatorOptimizer.step()

        latentPrior.fill(noise, rng: rng)
        let fake = generator.forward(noise, oneHot: labels, training: true)
        logits = discriminator.forward(
            withInstanceNoise(fake, rows: 0..<n, into: noisyFake), oneHot: labels, training: true)
        b.dLogitsFakeG.resize(logits.shape)
        for i in 0..<n {
            let term = loss.generator(logits.data[i])
            gLoss += term.term
            b.dLogitsFakeG.data[i] = term.slope * inverseN
        }
        if updatesGenerator {
            let dImages = discriminator.backward(b.dLogitsFakeG, needs: .input)
            generator.backward(dImages.reshaped(fake.shape), needs: .parameters)
            generatorOptimizer.step()
            ema?.update(updates: generatorOptimizer.stepCount)
        }
        return .adversarial(discriminatorLoss: dLoss / Double(n), generatorLoss: gLoss / Double(n))
    }
}
