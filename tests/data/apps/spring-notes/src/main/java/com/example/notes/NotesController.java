package com.example.notes;

import java.util.Map;

import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

@RestController
@RequestMapping("/api")
public class NotesController {

    @GetMapping("/notes/{id}")
    public ResponseEntity<Map<String, String>> note(@PathVariable("id") String id) {
        if (id.equals("0")) {
            return ResponseEntity.status(HttpStatus.NOT_FOUND).body(Map.of("error", "no such note"));
        }
        return ResponseEntity.ok(Map.of("id", id));
    }

    @PostMapping("/notes")
    @ResponseStatus(HttpStatus.CREATED)
    public Map<String, Boolean> add() {
        return Map.of("ok", true);
    }
}
