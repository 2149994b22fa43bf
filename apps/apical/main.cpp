// SPDX-License-Identifier: Apache-2.0
#include <cstdio>

int main() {
  std::puts("apical: under construction");
  return 0;
}
