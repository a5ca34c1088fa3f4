#include "models/model.h"

#include "models/vgg5.h"
#include "models/vit.h"

namespace twophase {

std::vector<std::string> ModelNames() {
  return {"vit-mlp", "vit-nomlp", "vit-nomlp-wkewq", "vit-nomlp-wkewq-wvwo", "vgg5"};
}

std::unique_ptr<Model> CreateModel(const std::string& name, const InputShape& input,
                                   Backend* backend, std::string* error) {
  if (input.channels < 1 || input.height < 1 || input.width < 1 || input.classes < 2) {
    *error = "model '" + name +
             "': input must have channels, height, width >= 1 and classes >= "
             "2, got " +
             std::to_string(input.channels) + "x" + std::to_string(input.height) + "x" +
             std::to_string(input.width) + " with " + std::to_string(input.classes) + " classes";
    return nullptr;
  }
  VitConfig vit;
  if (VitConfig::ForVariant(name, &vit)) {
    if (input.height % vit.patch != 0 || input.width % vit.patch != 0) {
      *error = "model '" + name + "': image size " + std::to_string(input.height) + "x" +
               std::to_string(input.width) + " is not divisible by the " +
               std::to_string(vit.patch) + "x" + std::to_string(vit.patch) + " patch";
      return nullptr;
    }
    return std::make_unique<VisionTransformer>(name, input, vit, backend);
  }
  if (name == "vgg5") {
    // Three 2x2 pools in floor mode need at least 8 pixels per side.
    if (input.height < 8 || input.width < 8) {
      *error = "model 'vgg5': image size must be at least 8x8, got " +
               std::to_string(input.height) + "x" + std::to_string(input.width);
      return nullptr;
    }
    return std::make_unique<Vgg5>(name, input, backend);
  }
  std::string known;
  for (const std::string& m : ModelNames()) known += (known.empty() ? "" : ", ") + m;
  *error = "unknown model '" + name + "' (known: " + known + ")";
  return nullptr;
}

}  // namespace twophase
