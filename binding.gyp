{
  "targets": [
    {
      "target_name": "posix_semaphore",
      "sources": [
        "native/account.cc",
        "native/addon.cc",
        "native/async_calls.cc",
        "native/guarded_map.cc",
        "native/ledger.cc",
        "native/sem.cc",
        "native/sem_file.cc",
        "native/signal_window.cc",
        "native/sync_calls.cc",
        "native/wait_thread.cc",
        "native/waiter.cc",
        "native/waits.cc"
      ],
      "include_dirs": [
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
          "sources!": ["native/account.cc", "native/guarded_map.cc", "native/addon.cc", "native/async_calls.cc", "native/ledger.cc", "native/sem.cc", "native/sem_file.cc", "native/signal_window.cc", "native/sync_calls.cc", "native/wait_thread.cc", "native/waiter.cc", "native/waits.cc"]
        }]
      ]
    }
  ]
}
