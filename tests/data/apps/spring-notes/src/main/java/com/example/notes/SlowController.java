package com.example.notes;

import java.util.Map;

import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

@RestController
public class SlowController {

    @GetMapping("/slow")
    public Map<String, Boolean> slow() throws InterruptedException {
        Thread.sleep(300);
        return Map.of("slow", true);
    }

    @GetMapping(path = "/boom")
    public String boom() {
        throw new IllegalStateException("kaboom");
    }
}
