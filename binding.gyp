{
  "targets": [
    {
      "target_name": "posix_semaphore",
      "sources": [
        "native/addon.cc",
        "native/account/account.cc",
        "native/async/async_calls.cc",
        "native/async/wait_thread.cc",
        "native/async/waiter.cc",
        "native/ledger/guarded_map.cc",
        "native/ledger/ledger.cc",
        "native/semaphore/sem.cc",
        "native/semaphore/sem_file.cc",
        "native/semaphore/sync_calls.cc",
        "native/semaphore/waits.cc",
        "native/signals/signal_window.cc"
      ],
      "include_dirs": [
        "native",
        "native/account",
        "native/async",
        "native/ledger",
        "native/semaphore",
        "native/signals",
        "native/compat",
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-frtti"],
      "cflags_cc!": ["-fno-rtti"],
      "conditions": [
        ["OS=='linux'", { "libraries": ["-pthread"] }],
        ["OS=='mac'", {
          "xcode_settings": {
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "MACOSX_DEPLOYMENT_TARGET": "10.15"
          }
        }],
        ["OS=='win'", {
          "actions": [],
          "sources": ["native/win32/addon.cc", "native/win32/async_calls.cc", "native/win32/errors.cc", "native/win32/ledger.cc", "native/win32/sem.cc", "native/win32/sync_calls.cc"],
          "sources!": ["native/addon.cc", "native/account/account.cc", "native/async/async_calls.cc", "native/async/wait_thread.cc", "native/async/waiter.cc", "native/ledger/guarded_map.cc", "native/ledger/ledger.cc", "native/semaphore/sem.cc", "native/semaphore/sem_file.cc", "native/semaphore/sync_calls.cc", "native/semaphore/waits.cc", "native/signals/signal_window.cc"]
        }]
      ]
    }
  ]
}
