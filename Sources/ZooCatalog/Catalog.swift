import ConditionalDCGAN
import ConditionalGAN
import DCGAN
import DenseGAN
import Classifier
import ZooKit

/// Every built-in architecture plugin. A new plugin is one line here (plus its import).
public let builtinCatalog = Catalog([
    DenseGAN.self,
    DCGAN.self,
    ConditionalGAN.self,
    ConditionalDCGAN.self,
    Classifier.self,
])
