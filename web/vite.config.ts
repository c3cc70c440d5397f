// The dashboard's build: web/ → dist/web, run by scripts/build.mjs after the server's own build (so
// `npm install` and `npm start` need no extra step). Relative asset paths: the server may sit behind a
// prefix; the views live in the URL's hash, so the server only ever serves index.html and its assets.
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "./",
  plugins: [react()],
  logLevel: "warn",
  build: {
    outDir: fileURLToPath(new URL("../dist/web", import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
});
