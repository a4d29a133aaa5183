import ACGAN
import Classifier
import ConditionalDCGAN
import ConditionalGAN
import DCGAN
import DCGANVariant
import DenseGAN
import LSGAN
import ProjectionCGAN
import SNGAN
import SimpleGAN
import WGANGP
import ZooKit

/// Every built-in architecture plugin. A new plugin is one line here (plus its import).
public let builtinCatalog = Catalog([
    DenseGAN.self,
    DCGAN.self,
    ConditionalGAN.self,
    ConditionalDCGAN.self,
    SimpleGAN.self,
    DCGANVariant.self,
    Classifier.self,
    WGANGP.self,
    SNGAN.self,
    LSGAN.self,
    ACGAN.self,
    ProjectionCGAN.self,
])
