package dev.diffuse4j.pipelines.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * Downloads the files of a hub model repo into the shared cache layout ({@link HubCache}), as
 * huggingface_hub does: the revision is resolved to a commit, each file is stored once as a blob
 * named by its ETag and linked from {@code snapshots/COMMIT/PATH}. Interrupted downloads resume
 * from {@code BLOB.incomplete} with an HTTP Range request. {@code HF_ENDPOINT} overrides the hub
 * address and {@code HF_TOKEN} is sent as a bearer token.
 */
public final class HubDownloader {
    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";

    private final String endpoint;
    private final String token;
    private final HubCache cache;
    private final HttpClient http;
    private final ProgressListener progress;
    private final ObjectMapper json = new ObjectMapper();
    private int readTimeoutMillis = 120_000;

    /** Called as bytes arrive: file path in the repo, bytes so far, total bytes (-1 if unknown). */
    @FunctionalInterface
    public interface ProgressListener {
        void onProgress(String file, long done, long total);

        ProgressListener NONE = (f, d, t) -> {};
    }

    public HubDownloader(String endpoint, String token, HubCache cache, ProgressListener progress) {
        this.endpoint = endpoint.endsWith("/") ? endpoint.substring(0, endpoint.length() - 1) : endpoint;
        this.token = token == null || token.isBlank() ? null : token;
        this.cache = cache;
        this.progress = progress;
        this.http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL).connectTimeout(Duration.ofSeconds(30)).build();
    }

    /** Endpoint, token and cache from HF_ENDPOINT, HF_TOKEN, HF_HOME / HF_HUB_CACHE. */
    public static HubDownloader fromEnvironment(ProgressListener progress) {
        Map<String, String> env = System.getenv();
        return new HubDownloader(env.getOrDefault("HF_ENDPOINT", DEFAULT_ENDPOINT), env.get("HF_TOKEN"), HubCache.fromEnvironment(), progress);
    }

    public HubCache cache() { return cache; }

    /** How long a download may stall before it fails (it can then be resumed). */
    public HubDownloader readTimeout(Duration d) {
        this.readTimeoutMillis = (int) Math.min(Integer.MAX_VALUE, d.toMillis());
        return this;
    }

    /**
     * Downloads the files of the repo at {@code revision} that {@code select} picks from its file list
     * and returns the snapshot folder. Files already complete in the cache are not fetched again.
     */
    public Path download(String repoId, String revision, Function<List<String>, Set<String>> select) throws IOException {
        RepoInfo info;
        try {
            info = repoInfo(repoId, revision);
        } catch (IOException e) {
            Optional<Path> cached = cachedSnapshot(repoId, revision);
            if (cached.isPresent()) return cached.get(); // offline: reuse a complete earlier download
            throw e;
        }
        Path snapshot = cache.snapshot(repoId, info.commit());
        for (String file : select.apply(info.files())) {
            Path link = snapshot.resolve(file).normalize();
            if (!link.startsWith(snapshot)) throw new IOException("hub repo " + repoId + " lists an unsafe path: " + file);
            if (Files.exists(link)) continue;
            fetchFile(repoId, info.commit(), file, link);
        }
        Path ref = cache.ref(repoId, revision);
        Files.createDirectories(ref.getParent());
        Files.writeString(ref, info.commit());
        return snapshot;
    }

    /** The snapshot an earlier download recorded for this revision, if its folder exists. */
    public Optional<Path> cachedSnapshot(String repoId, String revision) throws IOException {
        Path ref = cache.ref(repoId, revision);
        if (!Files.isRegularFile(ref)) return Optional.empty();
        Path snap = cache.snapshot(repoId, Files.readString(ref).trim());
        return Files.isDirectory(snap) ? Optional.of(snap) : Optional.empty();
    }

    record RepoInfo(String commit, List<String> files) {}

    RepoInfo repoInfo(String repoId, String revision) throws IOException {
        String url = endpoint + "/api/models/" + repoId + "/revision/" + URLEncoder.encode(revision, StandardCharsets.UTF_8);
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(url)).GET(), HttpResponse.BodyHandlers.ofString(), url);
        if (r.statusCode() == 401 || r.statusCode() == 403)
            throw new IOException("hub refused access to " + repoId + " (HTTP " + r.statusCode() + "): the repo may be gated or private; set HF_TOKEN to a token that may read it");
        if (r.statusCode() == 404)
            throw new IOException("hub has no model repo '" + repoId + "' at revision '" + revision + "' (HTTP 404)");
        if (r.statusCode() != 200) throw new IOException("hub answered HTTP " + r.statusCode() + " for " + url);
        JsonNode root = json.readTree(r.body());
        String sha = root.path("sha").asText(null);
        if (sha == null || !sha.matches("[0-9a-fA-F]{40}")) throw new IOException("hub answer for " + repoId + " has no commit sha");
        List<String> files = new ArrayList<>();
        for (JsonNode s : root.path("siblings")) files.add(s.path("rfilename").asText());
        return new RepoInfo(sha, files);
    }

    private void fetchFile(String repoId, String commit, String file, Path link) throws IOException {
        String url = endpoint + "/" + repoId + "/resolve/" + commit + "/" + file;
        HttpResponse<Void> head = send(HttpRequest.newBuilder(URI.create(url)).method("HEAD", HttpRequest.BodyPublishers.noBody()),
                HttpResponse.BodyHandlers.discarding(), url);
        if (head.statusCode() != 200) throw new IOException("hub answered HTTP " + head.statusCode() + " for " + url);
        String etag = head.headers().firstValue("X-Linked-Etag").or(() -> head.headers().firstValue("ETag"))
                .map(HubDownloader::cleanEtag).orElseThrow(() -> new IOException("hub gave no ETag for " + url));
        if (!etag.matches("[0-9A-Za-z._-]{1,128}")) throw new IOException("hub gave an unusable ETag for " + url + ": " + etag);
        long size = head.headers().firstValueAsLong("X-Linked-Size").orElse(head.headers().firstValueAsLong("Content-Length").orElse(-1));
        Path blob = cache.blob(repoId, etag);
        if (!Files.exists(blob)) downloadBlob(url, file, blob, size);
        Files.createDirectories(link.getParent());
        Path rel = link.getParent().relativize(blob);
        try {
            Files.createSymbolicLink(link, rel);
        } catch (UnsupportedOperationException | IOException e) {
            Files.copy(blob, link, StandardCopyOption.REPLACE_EXISTING); // file systems without links
        }
    }

    private void downloadBlob(String url, String file, Path blob, long size) throws IOException {
        Files.createDirectories(blob.getParent());
        Path part = blob.resolveSibling(blob.getFileName() + ".incomplete");
        long have = Files.exists(part) ? Files.size(part) : 0;
        // HttpURLConnection for the body: unlike HttpClient it gives a read timeout, so a stalled
        // transfer fails (and can be resumed) instead of hanging.
        HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
        c.setConnectTimeout(30_000);
        c.setReadTimeout(readTimeoutMillis);
        c.setInstanceFollowRedirects(true);
        c.setRequestProperty("User-Agent", "diffuse4j/0.1");
        if (token != null) c.setRequestProperty("Authorization", "Bearer " + token);
        if (have > 0) c.setRequestProperty("Range", "bytes=" + have + "-");
        int code;
        try {
            code = c.getResponseCode();
        } catch (IOException e) {
            throw new IOException("cannot reach the hub at " + endpoint + " (" + url + "): " + e.getMessage(), e);
        }
        boolean resumed = code == 206;
        if (code != 200 && !resumed) {
            c.disconnect();
            throw new IOException("hub answered HTTP " + code + " downloading " + url);
        }
        if (!resumed) have = 0; // server ignored the range: start over
        long done = have;
        try (InputStream in = c.getInputStream();
             OutputStream out = Files.newOutputStream(part, StandardOpenOption.CREATE,
                     resumed ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) {
                out.write(buf, 0, n);
                done += n;
                progress.onProgress(file, done, size);
            }
        } catch (IOException e) {
            throw new IOException("download of " + url + " stopped at " + done + (size >= 0 ? " of " + size : "")
                    + " bytes (" + e.getMessage() + "); run again to resume", e);
        } finally {
            c.disconnect();
        }
        if (size >= 0 && Files.size(part) != size)
            throw new IOException("download of " + url + " stopped at " + Files.size(part) + " of " + size + " bytes; run again to resume");
        Files.move(part, blob, StandardCopyOption.ATOMIC_MOVE);
    }

    private <T> HttpResponse<T> send(HttpRequest.Builder b, HttpResponse.BodyHandler<T> handler, String url) throws IOException {
        b.header("User-Agent", "diffuse4j/0.1");
        if (token != null) b.header("Authorization", "Bearer " + token);
        try {
            return http.send(b.build(), handler);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while fetching " + url, e);
        } catch (IOException e) {
            throw new IOException("cannot reach the hub at " + endpoint + " (" + url + "): " + e.getMessage()
                    + "; check the network, or set HF_ENDPOINT, or pass a local --model path", e);
        }
    }

    private static String cleanEtag(String etag) {
        String e = etag.trim();
        if (e.startsWith("W/")) e = e.substring(2);
        if (e.startsWith("\"") && e.endsWith("\"") && e.length() >= 2) e = e.substring(1, e.length() - 1);
        return e;
    }
}
