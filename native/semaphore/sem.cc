#include "sem.h"

#include <utility>

namespace psem {

Sem::Sem(std::shared_ptr<Account> account, int flags, std::shared_ptr<Registry> registry)
    : account_(std::move(account)), flags_(flags), registry_(std::move(registry)) {
  registry_->open.insert(this);
}

Sem::~Sem() {
  registry_->open.erase(this);
  Account::Detach(std::move(account_));
}

void Sem::Finish() {
  closed_ = true;
  Account::Detach(std::move(account_));
}

}  // namespace psem
